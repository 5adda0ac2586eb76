"""The console's Team page: colleague invites by email (real SMTP), joining from the link, roles,
removals; the last owner stays; owners and admins only (forms posted directly); audited; 404 for
another organization's users and invites."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from network.clock import utcnow
from network.db import transaction
from network.partners import invites
from network.partners import services as partners
from network.partners.audit import AuditEntry
from network.partners.models import Invite, User
from tests.builders import unique
from tests.console.test_vendors import sign_in_as
from tests.portal.conftest import PASSWORD, _password_hash, csrf_of, fresh, link_in, make_vendor_user, submit
from tests.portal.test_query_counts import counting

COLLEAGUE = "pal@shop.example"


def new_retailer(session) -> int:
    with transaction(session):
        org = partners.create_organization(session, kind="retailer", name=unique("Shop"), now=utcnow())
    return org.id


def add_user(session, org_id: int, role: str) -> int:
    with transaction(session):
        user = User(
            org_id=org_id,
            email=f"{unique(role)}@shop.example",
            password_hash=_password_hash(PASSWORD),
            role=role,
            created_at=utcnow(),
        )
        session.add(user)
    return user.id


def colleague_invite(session, org_id: int, email: str = COLLEAGUE) -> Invite:
    with transaction(session):
        invite, _ = invites.create_invite(session, team_id=org_id, email=email, now=utcnow())
    return invite


def actions(session, org_id: int) -> list[str]:
    fresh(session)
    return list(
        session.scalars(
            sa.select(AuditEntry.action).where(AuditEntry.org_id == org_id).order_by(AuditEntry.id)
        )
    )


def post(client, path: str, data: dict | None = None):
    token = csrf_of(client.get("/console/team").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token, **(data or {})})


def team_state(session, org_id: int) -> tuple:
    fresh(session)
    users = session.execute(
        sa.select(User.id, User.role).where(User.org_id == org_id).order_by(User.id)
    ).all()
    pending = session.execute(
        sa.select(Invite.id, Invite.revoked_at).where(Invite.team_id == org_id).order_by(Invite.id)
    ).all()
    return users, pending


def test_an_admin_invites_a_colleague_who_joins_in_the_console_as_an_operator(client, session, mailbox):
    org_id = new_retailer(session)
    sign_in_as(client, session, org_id, "admin")
    sent = submit(client, "/console/team/invites", {"email": COLLEAGUE}, page="/console/team")
    assert sent.status_code == 302
    page = client.get("/console/team").get_data(as_text=True)
    assert f"Invite sent to {COLLEAGUE}" in page and "Invites waiting" in page

    message = mailbox.last_to(COLLEAGUE)
    assert "invites you to" in message["Subject"]
    link = link_in(message, prefix="http://hub.test/console/invites/")
    path = link.removeprefix("http://hub.test")
    newcomer = client.application.test_client()
    form = newcomer.get(path)
    assert form.status_code == 200 and "Join" in form.get_data(as_text=True)
    joined = submit(
        newcomer,
        path,
        {"name": "Pal", "email": COLLEAGUE, "password": PASSWORD, "confirm": PASSWORD},
    )
    assert joined.status_code == 302 and joined.headers["Location"] == "/console"
    home = newcomer.get("/console").get_data(as_text=True)
    assert "operator" in home and f'title="{COLLEAGUE}"' in home
    fresh(session)
    user = session.scalar(sa.select(User).where(User.email == COLLEAGUE))
    assert (user.org_id, user.role) == (org_id, "operator")
    assert newcomer.get(path).status_code == 410  # the link worked once
    assert "Invites waiting" not in client.get("/console/team").get_data(as_text=True)
    assert actions(session, org_id) == ["user.invited"]


def test_the_links_of_one_side_do_not_open_on_the_other(client, session, mailbox):
    org_id = new_retailer(session)
    with transaction(session):
        _, retailer_token = invites.create_invite(session, team_id=org_id, email=COLLEAGUE, now=utcnow())
        vendor = make_vendor_user(session)
    with transaction(session):
        _, vendor_token = invites.create_invite(
            session, team_id=vendor.org_id, email="mate@vendor.example", now=utcnow()
        )
    assert client.get(f"/portal/invites/{retailer_token}").status_code == 404
    assert client.get(f"/console/invites/{vendor_token}").status_code == 404
    data = {"csrf_token": "x", "name": "", "email": COLLEAGUE, "password": PASSWORD, "confirm": PASSWORD}
    client.post(f"/portal/invites/{retailer_token}/colleague", data=data)
    fresh(session)
    assert session.scalar(sa.select(User).where(User.email == COLLEAGUE)) is None


def _targets(session, org_id: int) -> dict:
    return {
        "user": add_user(session, org_id, "operator"),
        "owner": add_user(session, org_id, "owner"),
        "invite": colleague_invite(session, org_id).id,
    }


TEAM_ACTIONS = {
    "invite": lambda t: ("/console/team/invites", {"email": "new@shop.example"}),
    "withdraw invite": lambda t: (f"/console/team/invites/{t['invite']}/revoke", {}),
    "change role": lambda t: (f"/console/team/users/{t['user']}/role", {"role": "admin"}),
    "remove user": lambda t: (f"/console/team/users/{t['user']}/remove", {}),
}
AUDITED = {
    "invite": "user.invited",
    "withdraw invite": "user_invite.revoked",
    "change role": "user.role_changed",
    "remove user": "user.removed",
}


@pytest.mark.parametrize("action", sorted(TEAM_ACTIONS))
@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_a_viewer_or_operator_posting_a_team_form_directly_gets_403_and_nothing_changes(
    client, session, mailbox, role, action
):
    org_id = new_retailer(session)
    targets = _targets(session, org_id)
    sign_in_as(client, session, org_id, role)
    page = client.get("/console/team").get_data(as_text=True)
    assert (
        "Send the invite" not in page
        and "Change the role" not in page
        and "Only an owner or an admin" in page
    )
    before = team_state(session, org_id)

    path, data = TEAM_ACTIONS[action](targets)
    response = post(client, path, data)
    assert response.status_code == 403
    assert team_state(session, org_id) == before
    assert mailbox.messages == [] and actions(session, org_id) == []


@pytest.mark.parametrize("action", sorted(TEAM_ACTIONS))
@pytest.mark.parametrize("role", ["owner", "admin"])
def test_an_owner_or_admin_changes_the_team_and_it_is_audited(client, session, mailbox, role, action):
    org_id = new_retailer(session)
    targets = _targets(session, org_id)
    sign_in_as(client, session, org_id, role)
    before = team_state(session, org_id)

    path, data = TEAM_ACTIONS[action](targets)
    response = post(client, path, data)
    assert response.status_code == 302, response.get_data(as_text=True)
    assert team_state(session, org_id) != before
    assert actions(session, org_id) == [AUDITED[action]]
    entry = session.scalar(sa.select(AuditEntry).where(AuditEntry.org_id == org_id))
    assert role in entry.actor
    if action == "change role":
        assert (entry.before, entry.after) == ({"role": "operator"}, {"role": "admin"})


def test_the_last_owner_can_be_neither_demoted_nor_removed(client, session):
    org_id = new_retailer(session)
    sign_in_as(client, session, org_id, "admin")
    owner = add_user(session, org_id, "owner")
    before = team_state(session, org_id)
    demoted = post(client, f"/console/team/users/{owner}/role", {"role": "admin"})
    assert demoted.status_code == 409 and "last owner" in demoted.get_data(as_text=True)
    assert post(client, f"/console/team/users/{owner}/remove").status_code == 409
    assert team_state(session, org_id) == before and actions(session, org_id) == []

    second = add_user(session, org_id, "owner")
    assert post(client, f"/console/team/users/{owner}/role", {"role": "viewer"}).status_code == 302
    assert post(client, f"/console/team/users/{second}/remove").status_code == 409
    assert post(client, f"/console/team/users/{second}/role", {"role": "operator"}).status_code == 409
    fresh(session)
    assert session.get(User, second).role == "owner" and session.get(User, owner).role == "viewer"


def test_a_role_that_is_none_of_ours_is_a_422_and_nothing_changes(client, session):
    org_id = new_retailer(session)
    sign_in_as(client, session, org_id, "owner")
    user = add_user(session, org_id, "viewer")
    response = post(client, f"/console/team/users/{user}/role", {"role": "superuser"})
    assert response.status_code == 422 and "Choose one of the roles" in response.get_data(as_text=True)
    fresh(session)
    assert session.get(User, user).role == "viewer" and actions(session, org_id) == []


def test_an_email_that_has_an_account_cannot_be_invited(client, session, mailbox):
    org_id = new_retailer(session)
    sign_in_as(client, session, org_id, "owner")
    taken = session.scalar(sa.select(User.email).where(User.org_id == org_id))
    refused = submit(client, "/console/team/invites", {"email": taken}, page="/console/team")
    assert refused.status_code == 422 and "already has an account" in refused.get_data(as_text=True)
    assert mailbox.messages == [] and actions(session, org_id) == []


@pytest.mark.parametrize("action", ["withdraw invite", "change role", "remove user"])
def test_another_organizations_users_and_invites_are_not_found(client, session, mailbox, action):
    mine, theirs = new_retailer(session), new_retailer(session)
    their_targets = _targets(session, theirs)
    vendor = make_vendor_user(session)
    vendor_targets = {
        "user": vendor.user_id,
        "invite": colleague_invite(session, vendor.org_id, "v@x.example").id,
    }
    with transaction(session):  # a vendor invite of my own is no colleague invite
        vendor_invite, _ = invites.create_invite(
            session, retailer_id=mine, email="maker@vendor.example", vendor_name="Maker", now=utcnow()
        )
    sign_in_as(client, session, mine, "owner")
    before = (team_state(session, theirs), team_state(session, vendor.org_id))
    for targets in (their_targets, vendor_targets, {"user": 10**9, "invite": vendor_invite.id}):
        path, data = TEAM_ACTIONS[action](targets)
        assert post(client, path, data).status_code == 404
    assert (team_state(session, theirs), team_state(session, vendor.org_id)) == before
    fresh(session)
    assert session.get(Invite, vendor_invite.id).revoked_at is None
    assert actions(session, mine) == [] and actions(session, theirs) == []
    page = client.get("/console/team").get_data(as_text=True)
    assert COLLEAGUE not in page and vendor.email not in page


def test_a_removed_user_is_signed_out_at_once(client, session):
    org_id = new_retailer(session)
    sign_in_as(client, session, org_id, "owner")
    other = client.application.test_client()
    sign_in_as(other, session, org_id, "operator")
    assert other.get("/console").status_code == 200
    fresh(session)
    operator = session.scalar(sa.select(User.id).where(User.org_id == org_id, User.role == "operator"))
    assert post(client, f"/console/team/users/{operator}/remove").status_code == 302
    assert other.get("/console").status_code == 302  # back to the sign-in page
    fresh(session)
    assert session.get(User, operator) is None
    (entry,) = session.scalars(sa.select(AuditEntry).where(AuditEntry.org_id == org_id))
    assert entry.action == "user.removed" and entry.before["role"] == "operator"


def test_the_nav_leads_to_the_team_page(client, session):
    sign_in_as(client, session, new_retailer(session), "viewer")
    assert 'href="/console/team"' in client.get("/console").get_data(as_text=True)


def test_the_team_pages_by_keyset_in_a_fixed_number_of_queries(client, session):
    org_id = new_retailer(session)
    sign_in_as(client, session, org_id, "owner")

    def queries() -> int:
        with counting() as statements:
            assert client.get("/console/team").status_code == 200
        return len(statements)

    few = queries()
    for _ in range(55):
        add_user(session, org_id, "viewer")
    colleague_invite(session, org_id)
    assert queries() == few
    first = client.get("/console/team").get_data(as_text=True)
    assert first.count('name="role"') == 50 and COLLEAGUE in first
    more = re.search(r'href="(/console/team\?after=\d+)"', first).group(1)
    assert client.get(more).get_data(as_text=True).count('name="role"') == 6
