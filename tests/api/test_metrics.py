"""/metrics: one scrape counts every process's requests, and HUB_METRICS_TOKEN closes it to others."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[2]
# One hub process, as a gunicorn worker is: it serves `count` health checks, then exits.
SERVE = """
import sys
from network.app import create_app

app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": sys.argv[1]})
client = app.test_client()
for _ in range(int(sys.argv[2])):
    assert client.get("/healthz").status_code == 200
"""


def healthz_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "dropnet_http_requests_total" and sample.labels.get("endpoint") == "healthz":
                return sample.value
    return 0.0


@pytest.mark.slow  # two hub processes start
def test_one_scrape_adds_up_the_requests_of_every_process(tmp_path, monkeypatch):
    shared = tmp_path / "metrics"
    shared.mkdir()
    url = f"sqlite:///{tmp_path / 'hub.sqlite3'}"
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}
    workers = [
        subprocess.Popen([sys.executable, "-c", SERVE, url, str(count)], env=env, cwd=ROOT)
        for count in (3, 4)
    ]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
    scraper = make_app(url, {}).test_client()  # a third process answers the scrape

    response = scraper.get("/metrics")

    assert response.status_code == 200
    assert healthz_count(response.get_data(as_text=True)) == 3 + 4


def test_metrics_answer_401_without_the_configured_token(tmp_path):
    client = make_app(
        f"sqlite:///{tmp_path / 'hub.sqlite3'}", {}, HUB_METRICS_TOKEN="scrape-7f3a"
    ).test_client()

    missing = client.get("/metrics")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer scrape-0000"})
    right = client.get("/metrics", headers={"Authorization": "Bearer scrape-7f3a"})

    for refused in (missing, wrong):
        assert refused.status_code == 401
        assert refused.mimetype == "application/problem+json"
        assert refused.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
        assert "dropnet_http_requests_total" not in refused.get_data(as_text=True)
    assert right.status_code == 200
    assert "dropnet_http_requests_total" in right.get_data(as_text=True)


def test_a_token_of_digits_from_the_environment_stays_the_token(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_METRICS_TOKEN", "12345")  # not read as the number 12345, nor as a flag
    client = make_app(f"sqlite:///{tmp_path / 'hub.sqlite3'}", {}).test_client()

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer 12345"}).status_code == 200


def test_metrics_stay_open_when_no_token_is_set(tmp_path):
    client = make_app(f"sqlite:///{tmp_path / 'hub.sqlite3'}", {}).test_client()

    assert client.get("/metrics").status_code == 200
