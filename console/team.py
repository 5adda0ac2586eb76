"""The console's Team page: colleagues by email invite, pending invites, roles, removals; and the
page where an invited colleague joins.

The rules are the portal's (network/partners/team.py, shared): an invitee joins as an operator,
an organization always keeps an owner, each change goes to the audit log. Changing the team is an
owner's or an admin's, checked first on every POST (403 for viewers and operators, nothing
changes); another organization's users and invites answer 404.
"""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, url_for

from console.blueprint import console
from console.session import actor, login_required, may, require, retailer_id, sign_in_session
from network.clock import utcnow
from network.db import transaction
from network.errors import InvalidInput
from network.extensions import db
from network.partners import invites, roles
from network.partners import team as team_service
from network.partners.models import RETAILER, ROLES
from vendor_portal.web.common import form_errors, keyset_position, public_url, send_after_commit
from vendor_portal.web.forms import ColleagueInviteForm, ColleagueSignupForm, RoleForm

PAGE = 50


def _after() -> int:
    return keyset_position("after") or 0


def _team_page(form: ColleagueInviteForm, *, status: int = 200, error: str | None = None):
    now = utcnow()
    rows = team_service.members(db.session, org_id=retailer_id(), after_id=_after(), limit=PAGE + 1)
    users, next_after = (rows[:PAGE], rows[PAGE - 1].id) if len(rows) > PAGE else (rows, None)
    page = render_template(
        "console/team.html",
        form=form,
        users=users,
        next_after=next_after,
        pending=team_service.pending_invites(db.session, org_id=retailer_id(), now=now, limit=PAGE),
        may_manage=may(roles.MANAGE),
        role_labels=roles.LABELS,
        roles=ROLES,
        error=error,
    )
    return page, status


@console.get("/team")
@login_required
def team():
    return _team_page(ColleagueInviteForm())


@console.post("/team/invites")
@login_required
def team_invite():
    require(roles.MANAGE)
    form = ColleagueInviteForm()
    if not form.validate():
        return _team_page(form, status=422)
    user = g.console_user
    try:
        with transaction(db.session):
            invite, token = team_service.invite_colleague(
                db.session,
                org_id=retailer_id(),
                email=form.email.data,
                actor=actor(),
                ttl=invites.invite_ttl(current_app.config.get("HUB_INVITE_TTL_DAYS")),
                now=utcnow(),
            )
            email = invites.invite_email(
                invite, token, public_url=public_url(), inviter=user.name or user.email
            )
    except InvalidInput as exc:
        form_errors(form, exc)
        return _team_page(form, status=422)
    if send_after_commit(email):
        flash(f"Invite sent to {invite.email}.", "info")
    return redirect(url_for("console.team"))


@console.post("/team/invites/<int:invite_id>/revoke")
@login_required
def team_invite_revoke(invite_id: int):
    require(roles.MANAGE)
    with transaction(db.session):
        invite = team_service.withdraw_invite(
            db.session, invite_id, org_id=retailer_id(), actor=actor(), now=utcnow()
        )
    flash(f"The invite to {invite.email} is withdrawn; its link no longer works.", "info")
    return redirect(url_for("console.team"))


@console.post("/team/users/<int:user_id>/role")
@login_required
def team_role(user_id: int):
    require(roles.MANAGE)
    form = RoleForm()
    if not form.validate():  # a role that is none of ours, or no CSRF token
        return _team_page(ColleagueInviteForm(formdata=None), status=422, error="Choose one of the roles.")
    with transaction(db.session):
        user = team_service.change_role(
            db.session, user_id, org_id=retailer_id(), role=form.role.data, actor=actor(), now=utcnow()
        )
    flash(f"{user.email} is now {roles.LABELS[user.role].lower()}.", "info")
    return redirect(url_for("console.team"))


@console.post("/team/users/<int:user_id>/remove")
@login_required
def team_remove(user_id: int):
    require(roles.MANAGE)
    with transaction(db.session):
        user = team_service.remove_member(
            db.session, user_id, org_id=retailer_id(), actor=actor(), now=utcnow()
        )
    flash(f"{user.email} is removed from the team and signed out.", "info")
    return redirect(url_for("console.team"))


# --- joining from the emailed link ----------------------------------------------------------------


def _join_page(token: str, form: ColleagueSignupForm, status: int = 200):
    invite = invites.open_colleague_invite(db.session, token, kind=RETAILER, now=utcnow())
    page = render_template(
        "console/join.html", form=form, token=token, organization=invites.inviter_name(invite)
    )
    return page, status


@console.get("/invites/<token>")
def join(token: str):
    invite = invites.open_colleague_invite(db.session, token, kind=RETAILER, now=utcnow())
    return _join_page(token, ColleagueSignupForm(email=invite.email))


@console.post("/invites/<token>")
def join_submit(token: str):
    form = ColleagueSignupForm()
    if not form.validate():
        return _join_page(token, form, 422)
    try:
        with transaction(db.session):
            user = invites.accept_as_colleague(
                db.session,
                token,
                name=form.name.data or "",
                email=form.email.data,
                password=form.password.data,
                now=utcnow(),
                kind=RETAILER,
            )
    except InvalidInput as exc:
        form_errors(form, exc)
        return _join_page(token, form, 422)
    sign_in_session(user.id, user.session_version)
    flash(f"Welcome to {user.organization.name} on Dropnet.", "info")
    return redirect(url_for("console.home"))
