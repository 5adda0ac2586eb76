"""A list page's keyset position past what its column holds is the first page, never a 500
(PostgreSQL's integer stops at 2**31 - 1; the number used to reach it)."""

from __future__ import annotations

import pytest

from tests.console.test_vendors import sign_in_as
from tests.portal.conftest import make_vendor_user, sign_in

PAST = "99999999999"
CONSOLE = [
    "/console/catalog?after=",
    "/console/catalog/variants?after=",
    "/console/orders?before=",
    "/console/availability?after=",
    "/console/team?after=",
    "/console/connectors?after=",
    "/console/developers?after=",
    "/console/developers/events?before=",
]
PORTAL = [
    "/portal/feeds?after=",
    "/portal/feed-runs?before=",
    "/portal/purchase-orders?after=",
    "/portal/returns?after=",
]


@pytest.mark.parametrize("number", [PAST, "-5", "²"])
def test_console_lists_take_any_position(client, session, network, number):
    sign_in_as(client, session, network.retailer.id, "viewer")
    for path in CONSOLE:
        assert client.get(path + number).status_code == 200, path


@pytest.mark.parametrize("number", [PAST, "-5", "²"])
def test_portal_lists_take_any_position(client, session, network, number):
    sign_in(client, make_vendor_user(session, org_id=network.vendor.id))
    for path in PORTAL:
        assert client.get(path + number).status_code == 200, path
