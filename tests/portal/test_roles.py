"""Roles on the portal's API-client and team pages, checked on the server (forms posted directly):
owners and admins manage them; operators and viewers see the page but cannot change it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from network.db import transaction
from network.partners.audit import AuditEntry
from network.partners.models import ApiClient, Invite, User
from tests.portal.conftest import fresh, link_in, make_vendor_user, sign_in, submit


def as_role(session, role: str):
    user = make_vendor_user(session)
    with transaction(session):
        session.execute(sa.update(User).where(User.id == user.user_id).values(role=role))
    return user


def counts(session, org_id: int) -> tuple[int, int]:
    fresh(session)
    clients = session.scalar(
        sa.select(sa.func.count()).select_from(ApiClient).where(ApiClient.org_id == org_id)
    )
    invites = session.scalar(sa.select(sa.func.count()).select_from(Invite).where(Invite.team_id == org_id))
    return clients, invites


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_operators_and_viewers_cannot_create_clients_or_invite(client, session, mailbox, role):
    user = as_role(session, role)
    sign_in(client, user)
    page = client.get("/portal/api-access").get_data(as_text=True)
    assert "Create the client" not in page and "Only an owner or an admin" in page

    created = submit(
        client, "/portal/api-access", {"name": "x", "scopes": ["inventory:write"]}, page="/portal/api-access"
    )
    assert created.status_code == 403
    assert "may not manage API clients" in created.get_data(as_text=True)
    invited = submit(client, "/portal/team/invites", {"email": "pal@vendor.example"}, page="/portal/team")
    assert invited.status_code == 403
    assert counts(session, user.org_id) == (0, 0)
    assert mailbox.messages == []


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_manage_clients_and_the_team(client, session, mailbox, role):
    user = as_role(session, role)
    sign_in(client, user)
    created = submit(
        client, "/portal/api-access", {"name": "x", "scopes": ["inventory:write"]}, page="/portal/api-access"
    )
    assert created.status_code == 201
    invited = submit(client, "/portal/team/invites", {"email": "pal@vendor.example"}, page="/portal/team")
    assert invited.status_code == 302
    assert counts(session, user.org_id) == (1, 1)


def test_a_revoke_needs_the_role_too(client, session):
    owner = as_role(session, "owner")
    sign_in(client, owner)
    submit(
        client, "/portal/api-access", {"name": "x", "scopes": ["inventory:write"]}, page="/portal/api-access"
    )
    fresh(session)
    client_pk = session.scalar(sa.select(ApiClient.id).where(ApiClient.org_id == owner.org_id))
    operator = make_vendor_user(session, org_id=owner.org_id)
    with transaction(session):
        session.execute(sa.update(User).where(User.id == operator.user_id).values(role="operator"))
    other = client.application.test_client()
    sign_in(other, operator)
    refused = submit(other, f"/portal/api-access/{client_pk}/revoke", {}, page="/portal/api-access")
    assert refused.status_code == 403
    fresh(session)
    assert session.get(ApiClient, client_pk).revoked_at is None


def test_a_colleague_joins_as_an_operator_and_the_team_page_shows_roles(client, session, mailbox):
    owner = as_role(session, "owner")
    sign_in(client, owner)
    submit(client, "/portal/team/invites", {"email": "pal@vendor.example"}, page="/portal/team")
    path = link_in(mailbox.last_to("pal@vendor.example"))
    newcomer = client.application.test_client()
    joined = submit(
        newcomer,
        path + "/colleague",
        {"email": "pal@vendor.example", "password": "Correct-horse-42", "confirm": "Correct-horse-42"},
        page=path,
    )
    assert joined.status_code == 302, joined.get_data(as_text=True)
    fresh(session)
    assert session.scalar(sa.select(User.role).where(User.email == "pal@vendor.example")) == "operator"
    team = client.get("/portal/team").get_data(as_text=True)
    assert "Operator" in team and "Owner" in team
    assert newcomer.post("/portal/api-access", data={}).status_code in (400, 403)


def _colleague(session, owner, role: str = "operator"):
    user = make_vendor_user(session, org_id=owner.org_id)
    with transaction(session):
        session.execute(sa.update(User).where(User.id == user.user_id).values(role=role))
    return user


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_operators_and_viewers_cannot_change_roles_or_remove_users(client, session, role):
    owner = as_role(session, "owner")
    me = _colleague(session, owner, role)
    sign_in(client, me)
    assert "Change the role" not in client.get("/portal/team").get_data(as_text=True)
    for action, data in (("role", {"role": "viewer"}), ("remove", {})):
        refused = submit(client, f"/portal/team/users/{owner.user_id}/{action}", data, page="/portal/team")
        assert refused.status_code == 403
    fresh(session)
    assert session.get(User, owner.user_id).role == "owner"
    assert session.scalars(sa.select(AuditEntry).where(AuditEntry.org_id == owner.org_id)).all() == []


def test_an_admin_changes_a_role_and_removes_a_colleague_the_console_way(client, session):
    owner = as_role(session, "owner")
    admin = _colleague(session, owner, "admin")
    pal = _colleague(session, owner)
    sign_in(client, admin)
    changed = submit(
        client, f"/portal/team/users/{pal.user_id}/role", {"role": "viewer"}, page="/portal/team"
    )
    assert changed.status_code == 302
    last_owner = submit(client, f"/portal/team/users/{owner.user_id}/remove", {}, page="/portal/team")
    assert last_owner.status_code == 409 and "last owner" in last_owner.get_data(as_text=True)
    other = make_vendor_user(session)  # another vendor's user: not found
    assert (
        submit(client, f"/portal/team/users/{other.user_id}/remove", {}, page="/portal/team").status_code
        == 404
    )
    removed = submit(client, f"/portal/team/users/{pal.user_id}/remove", {}, page="/portal/team")
    assert removed.status_code == 302
    fresh(session)
    assert session.get(User, pal.user_id) is None and session.get(User, other.user_id) is not None
    assert session.get(User, owner.user_id).role == "owner"
    entries = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.org_id == owner.org_id).order_by(AuditEntry.id)
    ).all()
    assert [(e.action, e.before, e.after) for e in entries] == [
        ("user.role_changed", {"role": "operator"}, {"role": "viewer"}),
        ("user.removed", {"email": pal.email, "role": "viewer"}, None),
    ]
    assert {e.actor for e in entries} == {f"user {admin.email}"}
