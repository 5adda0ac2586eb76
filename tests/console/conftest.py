"""Console fixtures: the portal's (a real SMTP server, the app mailing to it, browser-like requests)."""

from tests.portal.conftest import app, mailbox, smtp_server  # noqa: F401 (fixtures)
