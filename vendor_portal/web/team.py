"""API access (OAuth clients for the vendor's own systems) and the team (colleague invites).

Every POST here is an owner's or an admin's: the portal's one role rule (common.check_role) says so
before the view runs."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from wtforms.fields.choices import SelectChoice

from network.clock import utcnow
from network.db import transaction
from network.errors import InvalidInput
from network.extensions import db
from network.partners import audit, invites, roles
from network.partners import services as partners
from network.partners import team as team_service
from network.partners.models import ROLES, VENDOR_SCOPES
from vendor_portal.web.blueprint import portal
from vendor_portal.web.common import (
    current_user,
    form_errors,
    login_required,
    public_url,
    send_after_commit,
    vendor_id,
)
from vendor_portal.web.forms import ApiClientForm, ColleagueInviteForm, RoleForm

TEAM_PAGE = 200  # a vendor's team and its open invites fit on one page
SCOPE_LABELS = {
    "inventory:write": "inventory:write — push stock, manage variants and feeds",
    "purchase_orders:read": "purchase_orders:read — read purchase orders and returns",
    "purchase_orders:write": "purchase_orders:write — acknowledge, reject, ship, cancel, receive returns",
    "webhooks:manage": "webhooks:manage — register webhook endpoints for your systems",
}


def _client_form() -> ApiClientForm:
    form = ApiClientForm()
    form.scopes.choices = [SelectChoice(scope, SCOPE_LABELS.get(scope, scope)) for scope in VENDOR_SCOPES]
    if request.method == "GET":
        form.scopes.data = list(VENDOR_SCOPES)
    return form


def _access_page(form: ApiClientForm, *, created=None, secret: str | None = None, status: int = 200):
    clients = partners.list_api_clients(db.session, org_id=vendor_id())
    return render_template(
        "portal/api_access.html",
        form=form,
        clients=clients,
        created=created,
        secret=secret,
        may_manage=roles.may(current_user().role, roles.MANAGE),
    ), status


@portal.get("/api-access")
@login_required
def api_access():
    return _access_page(_client_form())


@portal.post("/api-access")
@login_required
def api_client_create():
    """The secret is shown in this response only (never redirected through the session cookie)."""
    form = _client_form()
    if not form.validate():
        return _access_page(form, status=422)
    try:
        with transaction(db.session):
            client, secret = partners.create_api_client(
                db.session,
                org_id=vendor_id(),
                name=form.name.data,
                scopes=form.scopes.data,
                actor=audit.Actor(user_id=current_user().id),
                now=utcnow(),
            )
    except InvalidInput as exc:
        form_errors(form, exc)
        return _access_page(form, status=422)
    return _access_page(_client_form(), created=client, secret=secret, status=201)


@portal.post("/api-access/<int:client_pk>/revoke")
@login_required
def api_client_revoke(client_pk: int):
    with transaction(db.session):
        partners.revoke_api_client(
            db.session,
            client_pk,
            org_id=vendor_id(),
            actor=audit.Actor(user_id=current_user().id),
            now=utcnow(),
        )
    flash("The client is revoked; its tokens stopped working.", "info")
    return redirect(url_for("portal.api_access"))


@portal.get("/team")
@login_required
def team():
    return _team_page(ColleagueInviteForm())


def _team_page(form: ColleagueInviteForm, status: int = 200, error: str | None = None):
    now = utcnow()
    return render_template(
        "portal/team.html",
        form=form,
        users=team_service.members(db.session, org_id=vendor_id(), limit=TEAM_PAGE),
        pending=team_service.pending_invites(db.session, org_id=vendor_id(), now=now, limit=TEAM_PAGE),
        may_manage=roles.may(current_user().role, roles.MANAGE),
        role_labels=roles.LABELS,
        roles=ROLES,
        error=error,
    ), status


@portal.post("/team/invites")
@login_required
def team_invite():
    form = ColleagueInviteForm()
    if not form.validate():
        return _team_page(form, 422)
    user = current_user()
    try:
        with transaction(db.session):
            invite, token = team_service.invite_colleague(
                db.session,
                org_id=user.org_id,
                email=form.email.data,
                actor=audit.Actor(user_id=user.id),
                ttl=invites.invite_ttl(current_app.config.get("HUB_INVITE_TTL_DAYS")),
                now=utcnow(),
            )
            email = invites.invite_email(
                invite, token, public_url=public_url(), inviter=user.name or user.email
            )
    except InvalidInput as exc:
        form_errors(form, exc)
        return _team_page(form, 422)
    if send_after_commit(email):
        flash(f"Invite sent to {invite.email}.", "info")
    return redirect(url_for("portal.team"))


@portal.post("/team/invites/<int:invite_id>/revoke")
@login_required
def team_invite_revoke(invite_id: int):
    with transaction(db.session):
        invite = team_service.withdraw_invite(
            db.session,
            invite_id,
            org_id=vendor_id(),
            actor=audit.Actor(user_id=current_user().id),
            now=utcnow(),
        )
    flash(f"The invite to {invite.email} is withdrawn; its link no longer works.", "info")
    return redirect(url_for("portal.team"))


@portal.post("/team/users/<int:user_id>/role")
@login_required
def team_role(user_id: int):
    """The console's rules (network/partners/team.py): the last owner keeps the role (409)."""
    form = RoleForm()
    if not form.validate():
        return _team_page(ColleagueInviteForm(formdata=None), 422, error="Choose one of the roles.")
    with transaction(db.session):
        user = team_service.change_role(
            db.session,
            user_id,
            org_id=vendor_id(),
            role=form.role.data,
            actor=audit.Actor(user_id=current_user().id),
            now=utcnow(),
        )
    flash(f"{user.email} is now {roles.LABELS[user.role].lower()}.", "info")
    return redirect(url_for("portal.team"))


@portal.post("/team/users/<int:user_id>/remove")
@login_required
def team_remove(user_id: int):
    with transaction(db.session):
        user = team_service.remove_member(
            db.session,
            user_id,
            org_id=vendor_id(),
            actor=audit.Actor(user_id=current_user().id),
            now=utcnow(),
        )
    flash(f"{user.email} is removed from the team and signed out.", "info")
    return redirect(url_for("portal.team"))
