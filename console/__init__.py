"""The retailer console (`/console`): server-rendered pages over `network` services.

It stands on the vendor portal's machinery rather than a copy of it: the same forms, CSRF
(Flask-WTF, app-wide), security headers and CSP, throttled sign-in and session versions
(network.partners.accounts, for users of retailers here). Its session keys are its own, so a
retailer's session is never read as a vendor's.
"""

from __future__ import annotations

from console import (  # noqa: F401 (views)
    auth,
    availability,
    catalog,
    catalog_import,
    connectors,
    developers,
    home,
    orders,
    session,
    settings,
    signup,
    team,
    vendors,
)
from console.blueprint import console

__all__ = ["console"]
