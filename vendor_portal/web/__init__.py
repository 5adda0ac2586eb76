"""The vendor portal (`/portal`): server-rendered pages over `network` services.

Every action works without JavaScript; forms carry Flask-WTF's CSRF token and follow
POST-redirect-GET. Views call one service each inside one transaction; templates only display.
"""

from __future__ import annotations

from vendor_portal.web import (  # noqa: F401 (views)
    audit,
    auth,
    common,
    dashboard,
    feeds,
    guards,
    orders,
    products,
    stock,
    team,
    trading,
)
from vendor_portal.web.blueprint import portal

__all__ = ["portal"]
