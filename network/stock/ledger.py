"""Reading the stock ledger: every change of a position with its cause, before and after."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.stock.models import StockLedgerEntry

# The ledger's `reason` as a cause a person reads: what moved the number.
CAUSES = {
    "feed": "feed_run",
    "reserve": "order",
    "acknowledge": "order",
    "ship": "order",
    "cancel": "cancellation",
    "reject": "cancellation",
    "return_received": "return",
    "return_graded": "return",
    "recompute": "recompute",
    "hold_placed": "hold",
    "hold_lifted": "hold",
    "stale": "staleness",
    "fresh": "staleness",
    "buffer": "buffer",
    "connection": "connection",
    "stale_after": "staleness",
    "active": "catalog",  # discontinued or offered again
    "aging": "prediction",  # a predictive figure moved as its count aged (network/availability/aging.py)
}


@dataclass(frozen=True)
class LedgerLine:
    id: int
    at: dt.datetime
    variant_id: int
    cause: str
    reason: str
    reference: dict
    before: dict
    after: dict


def _line(entry: StockLedgerEntry) -> LedgerLine:
    reference = {}
    if entry.feed_run_id is not None:
        reference["feed_run_id"] = entry.feed_run_id
    if entry.po_line_id is not None:
        reference["purchase_order_line_id"] = entry.po_line_id
    if entry.user_id is not None:
        reference["user_id"] = entry.user_id
    reference.update(entry.ref or {})
    fields = entry.changes or {}
    return LedgerLine(
        id=entry.id,
        at=entry.at,
        variant_id=entry.variant_id,
        cause=CAUSES.get(entry.reason, entry.reason),
        reason=entry.reason,
        reference=reference,
        before={name: pair[0] for name, pair in fields.items()},
        after={name: pair[1] for name, pair in fields.items()},
    )


def ledger_page(
    session: Session,
    *,
    variant_ids: Sequence[int],
    after_id: int,
    limit: int,
    newest_first: bool = False,
    retailer_id: int | None = None,
) -> list[LedgerLine]:
    """Entries of some variants by id (oldest first, or newest first with `after_id` as an upper bound).

    With `retailer_id`, entries that concern another retailer only are left out.
    """
    if not variant_ids:
        return []
    query = sa.select(StockLedgerEntry).where(StockLedgerEntry.variant_id.in_(sorted(set(variant_ids))))
    if retailer_id is not None:
        query = query.where(
            sa.or_(StockLedgerEntry.retailer_id.is_(None), StockLedgerEntry.retailer_id == retailer_id)
        )
    if newest_first:
        if after_id:
            query = query.where(StockLedgerEntry.id < after_id)
        query = query.order_by(StockLedgerEntry.id.desc())
    else:
        query = query.where(StockLedgerEntry.id > after_id).order_by(StockLedgerEntry.id)
    return [_line(entry) for entry in session.scalars(query.limit(limit))]


def note(
    session: Session,
    *,
    variant_ids: Sequence[int],
    reason: str,
    changes: dict,
    ref: dict,
    at: dt.datetime,
    retailer_id: int | None = None,
) -> None:
    """Write one entry per variant for a change that moves its figures without touching its
    position (a hold, staleness, a retailer's buffer), so that every figure can be explained."""
    if not variant_ids:
        return
    session.execute(
        StockLedgerEntry.__table__.insert(),
        [
            {
                "variant_id": variant_id,
                "at": at,
                "reason": reason,
                "changes": changes,
                "ref": ref,
                "retailer_id": retailer_id,
            }
            for variant_id in sorted(set(variant_ids))
        ],
    )
