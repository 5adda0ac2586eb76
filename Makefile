# The README's commands: `make run` serves the hub on SQLite, `make test` runs every test.
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: install run test lint format bench screenshots clean

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(VENV)/bin/flask --app wsgi hub init
	$(VENV)/bin/flask --app wsgi hub demo --if-empty
	HUB_RUN_WORKER=1 $(VENV)/bin/flask --app wsgi run --host 127.0.0.1 --port $(PORT)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install
	$(PY) bench/feed_ingest.py
	$(PY) bench/availability_read.py

screenshots: install  # the README's console screenshots, from a fresh demo network
	$(PY) docs/screenshots.py

clean:
	rm -rf $(VENV) instance *.egg-info
