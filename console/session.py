"""Who is signed in to the console: a retailer's user, by its own session keys."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import g, redirect, request, session, url_for

from console.blueprint import console
from network.extensions import db
from network.partners import accounts, roles
from network.partners.accounts import SessionUser
from network.partners.audit import Actor
from network.partners.models import RETAILER
from vendor_portal.web.common import no_store

_UID, _SV = "console_uid", "console_sv"

# The portal's headers (no-store, CSP without inline script, no framing) for the console too.
console.after_request(no_store)


@console.before_request
def load_user() -> None:
    g.console_user = None
    user_id, version = session.get(_UID), session.get(_SV)
    if isinstance(user_id, int) and isinstance(version, int):
        g.console_user = accounts.session_user(db.session, user_id=user_id, version=version, kind=RETAILER)
        if g.console_user is None:
            session.clear()  # signed out elsewhere, a password reset, or a deleted user


@console.app_template_global()
def console_user() -> SessionUser | None:
    return g.get("console_user")


def sign_in_session(user_id: int, version: int) -> None:
    session.clear()
    session[_UID] = user_id
    session[_SV] = version


def retailer_id() -> int:
    return g.console_user.org_id


def may(action: str) -> bool:
    """Whether the signed-in user's role may do an action (network/partners/roles.py)."""
    return roles.may(g.console_user.role, action)


def require(action: str) -> None:
    """Raises Forbidden (a 403 page) before anything is read or changed."""
    roles.require(g.console_user.role, action)


def actor() -> Actor:
    """The signed-in user, as the audit log names who acted."""
    return Actor(user_id=g.console_user.id)


def login_required(view: Callable) -> Callable:
    """Send anonymous visitors to the sign-in page, and back here afterwards."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("console_user") is None:
            return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper
