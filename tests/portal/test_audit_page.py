"""The audit log is shown in the portal as in the console: the organization's own entries only,
newest first, a page at a time (keyset), readable by every role."""

from __future__ import annotations

import pytest

from network.clock import utcnow
from network.db import transaction
from network.partners import audit
from network.partners.audit import Actor
from tests.builders import make_org
from tests.console.test_vendors import sign_in_as
from tests.portal.conftest import sign_in
from tests.portal.test_role_guard import as_role


def log_entries(session, org_id: int, count: int, action: str = "test.changed") -> None:
    with transaction(session):
        for i in range(count):
            audit.record(
                session,
                org_id=org_id,
                actor=Actor(),
                action=action,
                subject=f"thing {i}",
                before={"n": i},
                after={"n": i + 1},
                now=utcnow(),
            )


def test_a_viewer_reads_the_vendors_own_log_newest_first_and_pages_back(client, session, network):
    vendor, other = network.vendor, network.vendors[1]
    log_entries(session, vendor.id, 105)
    log_entries(session, other.id, 1, action="other.changed")
    sign_in(client, as_role(session, "viewer", vendor.id))

    page = client.get("/portal/audit-log").get_data(as_text=True)
    assert 'href="/portal/audit-log"' in page  # in the nav
    assert page.index("thing 104") < page.index("thing 5") and "thing 4<" not in page
    assert "n: 104" in page and "n: 105" in page  # before and after
    assert "other.changed" not in page
    older = page.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    rest = client.get(older).get_data(as_text=True)
    assert "thing 4<" in rest and "thing 0<" in rest and "thing 5<" not in rest
    assert 'rel="next"' not in rest


@pytest.mark.parametrize("before", ["x", "-1", "0", str(2**63)])
def test_a_bad_position_is_a_404(client, session, network, before):
    sign_in(client, as_role(session, "viewer", network.vendor.id))
    assert client.get(f"/portal/audit-log?before={before}").status_code == 404


def test_the_console_pages_its_log_the_same_way(client, session, network):
    retailer = network.retailer
    log_entries(session, retailer.id, 101)
    stranger = make_org(session, client, "retailer")
    log_entries(session, stranger.id, 1, action="other.changed")
    sign_in_as(client, session, retailer.id, "viewer")
    page = client.get("/console/audit-log").get_data(as_text=True)
    assert "thing 100<" in page and "thing 1<" in page and "thing 0<" not in page
    assert "other.changed" not in page
    older = page.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    assert "thing 0<" in client.get(older).get_data(as_text=True)
