"""Browser tests share the portal tests' SMTP server (aiosmtpd on 127.0.0.1)."""

from tests.portal.conftest import smtp_server  # noqa: F401
