"""Where a person follows a shipment: the carrier's public tracking page for a tracking number. Pure.

Vendors type the carrier by hand (portal, API, EDI 856), so names are matched loosely: case,
spaces and punctuation do not matter and the usual long names count ("United Parcel Service").
An unknown carrier, or a blank number, has no link: the page shows the number alone.
"""

from __future__ import annotations

import re
from urllib.parse import quote

# Each carrier's tracking page, with {} for the (URL-quoted) tracking number.
PAGES = {
    "ups": "https://www.ups.com/track?tracknum={}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={}",
    "dhl": "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={}",
    "royalmail": "https://www.royalmail.com/track-your-item#/tracking-results/{}",
    "canadapost": "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={}",
    "ontrac": "https://www.ontrac.com/tracking/?number={}",
}
ALIASES = {
    "unitedparcelservice": "ups",
    "upsground": "ups",
    "unitedstatespostalservice": "usps",
    "uspostalservice": "usps",
    "federalexpress": "fedex",
    "fedexground": "fedex",
    "fedexexpress": "fedex",
    "dhlexpress": "dhl",
    "dhlecommerce": "dhl",
}
_NOT_LETTERS = re.compile(r"[^a-z]")


def carrier_key(carrier: str) -> str | None:
    """The known carrier a typed name means, or None."""
    name = _NOT_LETTERS.sub("", carrier.lower())
    name = ALIASES.get(name, name)
    return name if name in PAGES else None


def tracking_url(carrier: str, tracking_number: str) -> str | None:
    """The carrier's tracking page for the number, or None (unknown carrier, blank number)."""
    key, number = carrier_key(carrier), tracking_number.strip()
    if key is None or not number:
        return None
    return PAGES[key].format(quote(number, safe=""))
