"""Names users type end up in email headers; a line break in one must not break the invite."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("name", ["Acme\nCorp", "Acme\u2028Corp", "Acme\x85Corp"])
def test_a_vendor_name_with_a_line_break_is_invited(network, name):
    answer = network.retailer.api.post(
        "/api/v1/vendor-invites",
        json={"email": "owner@acme.example", "vendor_name": name},
        headers={"Idempotency-Key": f"invite-{ord(name[4])}"},
    )
    assert answer.status_code == 201, answer.get_data(as_text=True)
