"""Browser tests share the portal tests' SMTP server (aiosmtpd on 127.0.0.1) and a live hub."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from network.extensions import db
from tests.conftest import make_app
from tests.portal.conftest import smtp_server  # noqa: F401


@pytest.fixture
def live_hub(tmp_path, request):
    """The hub on SQLite behind a real threaded HTTP server on 127.0.0.1, mailing to aiosmtpd."""
    controller, mailbox = request.getfixturevalue("smtp_server")
    with mailbox.lock:
        mailbox.messages.clear()
    app = make_app(
        f"sqlite:///{tmp_path / 'hub.sqlite3'}", {}, SMTP_URL=f"smtp://127.0.0.1:{controller.port}"
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_URL"] = base  # links in emails point at this server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with app.app_context():
        yield app, base, mailbox
        server.shutdown()
        thread.join(5)
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def shots(tmp_path) -> Path:
    target = Path(os.environ.get("PORTAL_SCREENSHOTS") or tmp_path / "screenshots")
    target.mkdir(parents=True, exist_ok=True)
    return target
