"""The carrier → tracking page rule (network/orders/tracking.py)."""

from __future__ import annotations

import pytest

from network.orders.tracking import tracking_url


@pytest.mark.parametrize(
    ("carrier", "number", "url"),
    [
        ("UPS", "1Z999AA10123456784", "https://www.ups.com/track?tracknum=1Z999AA10123456784"),
        ("ups", " 1Z999AA10123456784 ", "https://www.ups.com/track?tracknum=1Z999AA10123456784"),
        ("United Parcel Service", "1Z9", "https://www.ups.com/track?tracknum=1Z9"),
        (
            "USPS",
            "9400100000000000000000",
            "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400100000000000000000",
        ),
        ("U.S. Postal Service", "94001", "https://tools.usps.com/go/TrackConfirmAction?tLabels=94001"),
        ("FedEx", "449044304137821", "https://www.fedex.com/fedextrack/?trknbr=449044304137821"),
        ("Federal Express", "4490", "https://www.fedex.com/fedextrack/?trknbr=4490"),
        ("FedEx Ground", "4490", "https://www.fedex.com/fedextrack/?trknbr=4490"),
        (
            "DHL Express",
            "1234567890",
            "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id=1234567890",
        ),
        (
            "dhl",
            "12",
            "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id=12",
        ),
    ],
)
def test_the_common_carriers_have_their_tracking_page(carrier, number, url):
    assert tracking_url(carrier, number) == url


def test_the_number_cannot_change_the_link_it_is_put_in():
    url = tracking_url("UPS", "1Z&x=<script>/../")
    assert url == "https://www.ups.com/track?tracknum=1Z%26x%3D%3Cscript%3E%2F..%2F"


@pytest.mark.parametrize(
    ("carrier", "number"), [("Bob's Van", "123"), ("", "123"), ("UPS", "  "), ("UPSX", "1")]
)
def test_an_unknown_carrier_or_a_blank_number_has_no_link(carrier, number):
    assert tracking_url(carrier, number) is None
