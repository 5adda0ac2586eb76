"""`GET /api/v1/flags/stats` on a hand-made history: the share of vendor cancellations flagged first, the median lead."""

from __future__ import annotations

import datetime as dt

from network.db import transaction
from network.flags.models import Flag
from tests.flag_helpers import iso, order_of
from tests.order_helpers import stocked_item

DAY = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


def history(
    session, placed: dict, retailer_id: int, vendor_id: int, rows: list[tuple[str, int, int | None]]
) -> None:
    """Write flags (kind, day offset, lead time) on one line, as the hub would have raised them."""
    with transaction(session):
        for kind, day, lead in rows:
            session.add(
                Flag(
                    retailer_id=retailer_id,
                    vendor_id=vendor_id,
                    order_id=placed["order"],
                    order_line_id=placed["line"],
                    po_line_id=placed["po_line"],
                    kind=kind,
                    raised_at=DAY + dt.timedelta(days=day),
                    resolved_at=None,
                    detail={},
                    cancelled_at=DAY + dt.timedelta(days=day) if kind.startswith("vendor_") else None,
                    lead_time_seconds=lead,
                )
            )


def test_stats_count_vendor_refusals_and_the_warnings_that_came_first(session, network):
    first, second = network.retailers
    vendor = network.vendor
    _, sku = stocked_item(session, vendor, [first, second], 10)
    mine = order_of(first, sku, 1)
    theirs = order_of(second, sku, 1)
    history(
        session,
        mine,
        first.id,
        vendor.id,
        [
            ("vendor_cancelled", 0, 600),
            ("vendor_rejected", 1, None),
            ("vendor_cancelled", 2, 60),
            ("vendor_rejected", 3, 3600),
            ("vendor_cancelled", 4, None),
            ("shortfall", 4, 3600),  # a warning: its lead time is counted on the refusal, not again
            ("ack_overdue", 5, None),
        ],
    )
    history(session, theirs, second.id, vendor.id, [("vendor_cancelled", 0, 1)])

    stats = first.api.get("/api/v1/flags/stats").get_json()
    assert stats == {
        "cancellations": 5,
        "flagged_first": 3,
        "share_flagged_first": 0.6,
        "median_lead_time_seconds": 600.0,
    }
    since = first.api.get(f"/api/v1/flags/stats?since={iso(DAY + dt.timedelta(days=2))}").get_json()
    assert since == {
        "cancellations": 3,
        "flagged_first": 2,
        "share_flagged_first": 2 / 3,
        "median_lead_time_seconds": 1830.0,
    }
    assert second.api.get("/api/v1/flags/stats").get_json()["cancellations"] == 1


def test_stats_without_cancellations_have_no_share_and_no_median(network):
    assert network.retailer.api.get("/api/v1/flags/stats").get_json() == {
        "cancellations": 0,
        "flagged_first": 0,
        "share_flagged_first": None,
        "median_lead_time_seconds": None,
    }
