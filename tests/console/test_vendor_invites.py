"""The console's vendor invites (Vendors page): invite by email, list what is waiting, resend (a new
link; the old one dies), revoke; owner/admin only on the server; another retailer's invites are
404; every change in the audit log, as the API's are. Emails go through the real SMTP fixture."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from network.clock import utcnow
from network.db import transaction
from network.partners import invites
from network.partners.audit import AuditEntry
from network.partners.models import Connection, Invite
from tests.console.test_vendors import sign_in_as
from tests.portal.conftest import PASSWORD, csrf_of, fresh, link_in, make_vendor_user, submit
from tests.portal.test_query_counts import counting

VENDOR_EMAIL = "sales@maker.example"
NEW_VENDOR = {
    "organization_name": "Maker Co",
    "name": "Mia",
    "email": VENDOR_EMAIL,
    "password": PASSWORD,
    "confirm": PASSWORD,
}


def invite(client, email: str = VENDOR_EMAIL, vendor_name: str = "Maker Co"):
    return submit(
        client,
        "/console/vendors/invites",
        {"email": email, "vendor_name": vendor_name},
        page="/console/vendors",
    )


def post(client, path: str):
    """Post a button's form as a browser would, with the page's token."""
    token = csrf_of(client.get("/console/vendors").get_data(as_text=True))
    return client.post(path, data={"csrf_token": token})


def invite_link(mailbox, email: str = VENDOR_EMAIL) -> str:
    return link_in(mailbox.last_to(email), prefix="http://hub.test/portal/invites/")


def invites_of(session, retailer_id: int) -> list[Invite]:
    fresh(session)
    return list(
        session.scalars(sa.select(Invite).where(Invite.retailer_id == retailer_id).order_by(Invite.id))
    )


def actions(session, org_id: int) -> list[tuple[str, str]]:
    fresh(session)
    return [
        (entry.action, entry.actor)
        for entry in session.scalars(
            sa.select(AuditEntry).where(AuditEntry.org_id == org_id).order_by(AuditEntry.id)
        )
    ]


def connected(session, retailer_id: int, vendor_org_name: str) -> bool:
    fresh(session)
    return any(
        conn.vendor.name == vendor_org_name
        for conn in session.scalars(sa.select(Connection).where(Connection.retailer_id == retailer_id))
    )


def test_an_admin_invites_a_vendor_sees_it_pending_and_the_vendor_accepts(client, session, network, mailbox):
    retailer = network.retailer
    sign_in_as(client, session, retailer.id, "admin")
    sent = invite(client)
    assert sent.status_code == 302 and sent.headers["Location"] == "/console/vendors"
    message = mailbox.last_to(VENDOR_EMAIL)
    assert retailer.name in message["Subject"] and "Maker Co" in message["Subject"]
    page = client.get("/console/vendors").get_data(as_text=True)
    assert f"Invite sent to {VENDOR_EMAIL}" in page
    assert VENDOR_EMAIL in page and "pending" in page and "Resend" in page and "Revoke" in page

    (row,) = invites_of(session, retailer.id)
    assert row.invited_by_user_id is not None
    ((action, actor),) = actions(session, retailer.id)
    assert action == "vendor_invite.sent" and actor.startswith("user admin")
    assert "vendor_invite.sent" in client.get("/console/audit-log").get_data(as_text=True)

    vendor = client.application.test_client()
    joined = submit(vendor, invite_link(mailbox) + "/signup", NEW_VENDOR, page=invite_link(mailbox))
    assert joined.status_code == 302
    assert connected(session, retailer.id, "Maker Co")
    # Accepted: no longer waiting.
    assert VENDOR_EMAIL not in client.get("/console/vendors").get_data(as_text=True)


def test_after_a_resend_only_the_new_link_works_in_the_portal(client, session, network, mailbox):
    retailer = network.retailer
    sign_in_as(client, session, retailer.id, "owner")
    assert invite(client).status_code == 302
    old_link = invite_link(mailbox)
    (first,) = invites_of(session, retailer.id)

    resent = post(client, f"/console/vendors/invites/{first.id}/resend")
    assert resent.status_code == 302
    assert len(mailbox.to(VENDOR_EMAIL)) == 2
    new_link = invite_link(mailbox)
    assert new_link != old_link
    page = client.get("/console/vendors").get_data(as_text=True)
    assert "the earlier link no longer works" in page
    assert page.count(f"<td>{VENDOR_EMAIL}</td>") == 1  # one invite waiting, not two

    vendor = client.application.test_client()
    dead = vendor.get(old_link)
    assert dead.status_code == 410 and "sent a newer one" in dead.get_data(as_text=True)
    # Posting the old link's sign-up form anyway creates nothing.
    refused = submit(vendor, old_link + "/signup", NEW_VENDOR, page="/portal/login")
    assert refused.status_code == 410
    assert not connected(session, retailer.id, "Maker Co")

    joined = submit(vendor, new_link + "/signup", NEW_VENDOR, page=new_link)
    assert joined.status_code == 302
    assert connected(session, retailer.id, "Maker Co")
    old, new = invites_of(session, retailer.id)
    assert old.revoked_at is not None and new.accepted_at is not None
    assert [a for a, _ in actions(session, retailer.id)] == ["vendor_invite.sent", "vendor_invite.resent"]


def test_an_existing_vendor_accepts_a_resent_invite_with_the_new_link_only(client, session, network, mailbox):
    retailer = network.retailer
    sign_in_as(client, session, retailer.id, "owner")
    maker = make_vendor_user(session)
    assert invite(client, email=maker.email).status_code == 302
    old_link = invite_link(mailbox, maker.email)
    (first,) = invites_of(session, retailer.id)
    assert post(client, f"/console/vendors/invites/{first.id}/resend").status_code == 302
    new_link = invite_link(mailbox, maker.email)

    vendor = client.application.test_client()
    login = {"email": maker.email, "password": maker.password}
    assert submit(vendor, old_link + "/login", login, page="/portal/login").status_code == 410
    assert not connected(session, retailer.id, maker.org_name)
    assert submit(vendor, new_link + "/login", login, page=new_link).status_code == 302
    assert connected(session, retailer.id, maker.org_name)


def test_an_expired_invite_is_listed_as_expired_and_can_be_sent_again(client, session, network, mailbox):
    retailer = network.retailer
    sign_in_as(client, session, retailer.id, "owner")
    assert invite(client).status_code == 302
    (first,) = invites_of(session, retailer.id)
    with transaction(session):
        session.execute(sa.update(Invite).values(expires_at=utcnow() - dt.timedelta(hours=1)))
    assert "expired" in client.get("/console/vendors").get_data(as_text=True)
    assert post(client, f"/console/vendors/invites/{first.id}/resend").status_code == 302
    new_link = invite_link(mailbox)
    assert client.application.test_client().get(new_link).status_code == 200
    page = client.get("/console/vendors").get_data(as_text=True)
    assert "pending" in page and ">expired<" not in page


def test_revoking_kills_the_link_and_is_audited(client, session, network, mailbox):
    retailer = network.retailer
    sign_in_as(client, session, retailer.id, "admin")
    assert invite(client).status_code == 302
    link = invite_link(mailbox)
    (row,) = invites_of(session, retailer.id)
    revoked = post(client, f"/console/vendors/invites/{row.id}/revoke")
    assert revoked.status_code == 302
    page = client.get("/console/vendors").get_data(as_text=True)
    assert "is withdrawn" in page and "No invite is waiting" in page
    dead = client.application.test_client().get(link)
    assert dead.status_code == 410 and "withdrew this invite" in dead.get_data(as_text=True)
    # Revoking again, or resending a revoked invite, changes nothing and logs nothing.
    assert post(client, f"/console/vendors/invites/{row.id}/revoke").status_code == 302
    assert post(client, f"/console/vendors/invites/{row.id}/resend").status_code == 302
    assert "Not sent" in client.get("/console/vendors").get_data(as_text=True)
    assert len(invites_of(session, retailer.id)) == 1 and len(mailbox.to(VENDOR_EMAIL)) == 1
    assert [a for a, _ in actions(session, retailer.id)] == ["vendor_invite.sent", "vendor_invite.revoked"]


def test_an_accepted_invite_cannot_be_resent_or_revoked(client, session, network, mailbox):
    retailer = network.retailer
    sign_in_as(client, session, retailer.id, "owner")
    assert invite(client).status_code == 302
    link = invite_link(mailbox)
    assert (
        submit(client.application.test_client(), link + "/signup", NEW_VENDOR, page=link).status_code == 302
    )
    (row,) = invites_of(session, retailer.id)
    for action in ("resend", "revoke"):
        assert post(client, f"/console/vendors/invites/{row.id}/{action}").status_code == 302
    (after,) = invites_of(session, retailer.id)
    assert after.accepted_at is not None and after.revoked_at is None
    assert len(mailbox.to(VENDOR_EMAIL)) == 1
    assert [a for a, _ in actions(session, retailer.id)] == ["vendor_invite.sent"]


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_a_viewer_or_operator_posting_directly_gets_403_and_nothing_changes(
    client, session, network, mailbox, role
):
    retailer = network.retailer
    with transaction(session):
        pending, _ = invites.create_invite(
            session, retailer_id=retailer.id, email=VENDOR_EMAIL, vendor_name="Maker Co", now=utcnow()
        )
    sign_in_as(client, session, retailer.id, role)
    page = client.get("/console/vendors").get_data(as_text=True)
    assert "Invite the vendor" not in page and "Resend" not in page and "Only an owner or an admin" in page
    assert VENDOR_EMAIL in page  # they still see what is waiting

    token = csrf_of(page)  # the sign-out form's token
    data = {"csrf_token": token, "email": "other@maker.example", "vendor_name": "Other"}
    assert client.post("/console/vendors/invites", data=data).status_code == 403
    for action in ("resend", "revoke"):
        response = client.post(f"/console/vendors/invites/{pending.id}/{action}", data={"csrf_token": token})
        assert response.status_code == 403
    (row,) = invites_of(session, retailer.id)
    assert row.revoked_at is None and row.token_hash == pending.token_hash
    assert mailbox.messages == [] and actions(session, retailer.id) == []


def test_another_retailers_invites_are_not_found(client, session, network, mailbox):
    first, second = network.retailers
    maker = make_vendor_user(session)
    with transaction(session):
        theirs, _ = invites.create_invite(
            session, retailer_id=second.id, email=VENDOR_EMAIL, vendor_name="Maker Co", now=utcnow()
        )
        colleague, _ = invites.create_invite(
            session, team_id=maker.org_id, email="pal@maker.example", now=utcnow()
        )
    sign_in_as(client, session, first.id, "owner")
    assert VENDOR_EMAIL not in client.get("/console/vendors").get_data(as_text=True)
    for invite_id in (theirs.id, colleague.id, 10**12):
        for action in ("resend", "revoke"):
            assert post(client, f"/console/vendors/invites/{invite_id}/{action}").status_code == 404
    fresh(session)
    assert session.get(Invite, theirs.id).revoked_at is None
    assert session.get(Invite, colleague.id).revoked_at is None
    assert mailbox.messages == [] and actions(session, first.id) == []


@pytest.mark.parametrize(
    ("email", "name", "message"),
    [
        ("not-an-email", "Maker Co", "not an email address"),
        ("", "Maker Co", "This field is required"),
        (VENDOR_EMAIL, "", "This field is required"),
        (VENDOR_EMAIL, "x" * 201, "Field cannot be longer than 200 characters"),
    ],
)
def test_bad_input_is_a_plain_message_and_changes_nothing(
    client, session, network, mailbox, email, name, message
):
    sign_in_as(client, session, network.retailer.id, "owner")
    refused = invite(client, email=email, vendor_name=name)
    assert refused.status_code == 422
    assert message in refused.get_data(as_text=True)
    assert invites_of(session, network.retailer.id) == [] and mailbox.messages == []


def test_the_api_invites_and_revokes_are_in_the_audit_log_naming_the_client(
    client, session, network, mailbox
):
    retailer = network.retailer
    created = retailer.api.post(
        "/api/v1/vendor-invites", json={"email": VENDOR_EMAIL, "vendor_name": "Maker Co"}
    )
    assert created.status_code == 201
    assert retailer.api.delete(f"/api/v1/vendor-invites/{created.get_json()['id']}").status_code == 204
    assert actions(session, retailer.id) == [
        ("vendor_invite.sent", f"API client {retailer.client_id}"),
        ("vendor_invite.revoked", f"API client {retailer.client_id}"),
    ]


def test_the_invite_list_pages_by_keyset_with_the_same_queries_for_one_invite_or_many(
    client, session, network
):
    retailer = network.retailer
    sign_in_as(client, session, retailer.id, "owner")

    def add(start: int, stop: int) -> None:
        with transaction(session):
            for n in range(start, stop):
                invites.create_invite(
                    session,
                    retailer_id=retailer.id,
                    email=f"v{n}@x.example",
                    vendor_name=f"V{n}",
                    now=utcnow(),
                )

    def queries(path: str = "/console/vendors") -> int:
        with counting() as statements:
            assert client.get(path).status_code == 200
        return len(statements)

    add(0, 1)
    one = queries()
    add(1, 60)
    assert queries() == one
    first = client.get("/console/vendors").get_data(as_text=True)
    assert "v49@x.example" in first and "v50@x.example" not in first and "More invites" in first
    rows = invites_of(session, retailer.id)
    second = client.get(f"/console/vendors?invites_after={rows[49].id}").get_data(as_text=True)
    assert "v50@x.example" in second and "v59@x.example" in second and "v49@x.example" not in second
    assert "More invites" not in second
    assert client.get("/console/vendors?invites_after=junk").status_code == 200
