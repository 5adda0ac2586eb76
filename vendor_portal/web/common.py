"""What every portal view shares: the signed-in user, the guard, mail after commit, form errors."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from api_common.edge import BIGINT_MAX, DB_INT_MAX
from network.errors import InvalidInput
from network.extensions import db
from network.mail import Email, Mailer, MailNotSent
from network.partners import accounts, roles
from network.partners.accounts import SessionUser
from vendor_portal.web.blueprint import portal

log = logging.getLogger(__name__)


CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@portal.before_request
def load_user() -> None:
    g.user = None
    user_id, version = session.get("uid"), session.get("sv")
    if isinstance(user_id, int) and isinstance(version, int):
        g.user = accounts.session_user(db.session, user_id=user_id, version=version)
        if g.user is None:
            session.clear()  # a password reset (or a deleted user) ended this session


# A POST changes something, so every one needs a role that may (network/partners/roles.py); one rule
# here rather than a check in each view, so a new form cannot forget it. Signing in and out and
# following an emailed link are the person's own doing and need none.
_OWN_DOING = frozenset(
    {
        "portal.login",
        "portal.logout",
        "portal.forgot_password",
        "portal.reset_password",
        "portal.invite_signup",
        "portal.invite_colleague_signup",
        "portal.invite_login",
        "portal.invite_accept",
    }
)
# The organization's settings, its API clients and its team; everything else is day-to-day work.
_MANAGING = frozenset(
    {
        "portal.api_client_create",
        "portal.api_client_revoke",
        "portal.team_invite",
        "portal.team_invite_revoke",
        "portal.team_role",
        "portal.team_remove",
        "portal.edi_save",
        "portal.edi_confirm_host_key",
    }
)


@portal.before_request
def check_role() -> None:
    user = g.get("user")
    if request.method in ("GET", "HEAD", "OPTIONS") or user is None or request.endpoint in _OWN_DOING:
        return  # reads, and anonymous posts (login_required sends those to the sign-in page)
    roles.require(user.role, roles.MANAGE if request.endpoint in _MANAGING else roles.OPERATE)


@portal.after_request
def no_store(response: Response) -> Response:
    # Pages show stock, orders and one-time secrets: never keep them in shared caches.
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    # Scripts, styles and forms from the portal itself only, no inline script or handler: an
    # injected <script> or onclick= would not run even if escaping ever failed.
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


@portal.app_template_global()
def portal_user() -> SessionUser | None:
    return g.get("user")


def sign_in_session(user_id: int, version: int) -> None:
    session.clear()
    session["uid"] = user_id
    session["sv"] = version


def sign_out_session() -> None:
    session.clear()


def current_user() -> SessionUser:
    return g.user


def vendor_id() -> int:
    return g.user.org_id


def login_required(view: Callable) -> Callable:
    """Send anonymous visitors to the sign-in page, and back here afterwards."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            return redirect(url_for("portal.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


def safe_next(target: str | None, *, prefix: str = "/portal/", home: str = "portal.dashboard") -> str:
    """Only ever redirect to a path of this portal (or the console: `prefix`, `home`) after
    sign-in, never to another site."""
    # A control character (CR/LF above all) would split the Location header: never a path of ours.
    if target and target.isprintable():
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith(prefix) and "\\" not in target:
            return target
    return url_for(home)


def client_ip() -> str:
    return request.remote_addr or "unknown"


def mailer() -> Mailer:
    return current_app.extensions["hub_mailer"]


def public_url() -> str:
    return str(current_app.config["PUBLIC_URL"])


def send_after_commit(email: Email) -> bool:
    """Send an email whose facts are already committed; on failure say so and carry on."""
    try:
        mailer().send(email)
    except MailNotSent:
        log.exception("portal email not sent")
        flash(f"The email to {email.to} could not be sent. Try again later.", "error")
        return False
    return True


def whole_units(raw: str, field: str) -> int:
    """Read a count of units typed into a form. Raises InvalidInput (not a whole number, negative)."""
    text = raw.strip()
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(
            f"{text!r} is not a whole number of units", errors={field: ["whole numbers only"]}
        ) from None
    if value < 0:
        raise InvalidInput("unit counts cannot be negative", errors={field: ["must be 0 or more"]})
    return value


def form_errors(form: FlaskForm, error: InvalidInput, *, fields: dict[str, str] | None = None) -> None:
    """Show a service's field errors next to the form's fields (and its detail when there are none)."""
    fields = fields or {}
    shown = False
    for name, messages in error.errors.items():
        field = getattr(form, fields.get(name, name), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), *messages]
            shown = True
    if not shown:
        form.form_errors.append(error.detail)


# (endpoint, label, endpoint prefix that marks the entry current); pages of areas not built yet
# are left out of the menu.
NAV = (
    ("portal.dashboard", "Dashboard", "portal.dashboard"),
    ("portal.stock", "Stock", "portal.stock"),
    ("portal.feeds_list", "Feeds", "portal.feed"),
    ("portal.purchase_orders", "Purchase orders", "portal.purchase_order"),
    ("portal.returns", "Returns", "portal.return"),
    ("portal.invoices_list", "Invoices", "portal.invoice"),
    ("portal.edi", "EDI", "portal.edi"),
    ("portal.api_access", "API access", "portal.api_"),
    ("portal.team", "Team", "portal.team"),
    ("portal.audit_log", "Audit log", "portal.audit_log"),
)


@portal.app_template_global()
def portal_nav() -> list[tuple[str, str, str]]:
    return [entry for entry in NAV if entry[0] in current_app.view_functions]


def keyset_position(name: str, *, maximum: int = DB_INT_MAX) -> int | None:
    """A list page's `?after=`/`?before=` position: a positive id its column can hold, else None.

    The one bound for every page of the portal and the console: a number past the column's range
    (PostgreSQL's integer stops at 2**31 - 1) must not reach the database, where it is a 500.
    """
    raw = request.args.get(name, "")
    if raw.isascii() and raw.isdigit() and 0 < int(raw) <= maximum:
        return int(raw)
    return None


def before_position() -> int | None:
    """The audit log's `?before=` position (a BIGINT id); a value that is not one is a 404."""
    position = keyset_position("before", maximum=BIGINT_MAX)
    if position is None and "before" in request.args:
        abort(404)
    return position
