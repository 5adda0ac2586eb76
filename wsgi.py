"""The WSGI entry point: `flask --app wsgi …`, `gunicorn wsgi:app`."""

from network.app import create_app

app = create_app()
