"""Console fixtures: the portal's (a real SMTP server, the app mailing to it, browser-like requests),
and the webhook tests' receivers on 127.0.0.1 with a dispatcher the test drives (Developers pages)."""

from tests.portal.conftest import app, mailbox, smtp_server  # noqa: F401 (fixtures)
from tests.webhooks.conftest import (  # noqa: F401 (fixtures)
    _allow_local_receivers,
    clock,
    dispatcher,
    receiver_factory,
    receivers,
)
