"""Guards against a slip in a catalog file (DESIGN §15): a cost or MAP that moves by more than a
share of its current value (someone priced a $100 item at $10) is held for the vendor's
confirmation instead of applied; the rest of the file applies."""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass

from sqlalchemy.orm import Session

from network.catalog.models import VendorVariant
from network.outbox.events import CatalogHeld
from network.outbox.services import record_many
from network.partners.guards import DEFAULT_PRICE_SHARE
from network.products.models import CatalogImport

GUARDED_PRICES = ("cost", "map_price")


@dataclass(frozen=True)
class CatalogLimits:
    # A cost or MAP moving by more than this share of its current value is held (None: never).
    price_share: float | None = DEFAULT_PRICE_SHARE


def price_slip(before: decimal.Decimal | None, after: decimal.Decimal | None, share: float) -> bool:
    """Tell whether a price move from `before` to `after` exceeds `share` of `before`.

    A first price (none before) or a price removed is no slip: there is nothing to compare.
    """
    if before is None or after is None or before <= 0:
        return False
    return abs(after - before) > decimal.Decimal(str(share)) * before


def catalog_slip(variant: VendorVariant, values: dict, limits: CatalogLimits) -> str | None:
    """Return why saving `values` over `variant` looks like a slip, or None."""
    if limits.price_share is None:
        return None
    for name in GUARDED_PRICES:
        before, after = getattr(variant, name), values.get(name)
        if after is not None and price_slip(before, after, limits.price_share):
            label = "MAP" if name == "map_price" else name
            return (
                f"held: {label} would go from {before:.2f} to {after:.2f}, a move of more than "
                f"{limits.price_share:.0%}; confirm it if that is right"
            )
    return None


def announce_held(session: Session, record: CatalogImport, *, now: dt.datetime) -> None:
    """Tell the vendor (event log, webhooks) that rows of an import wait for its confirmation."""
    event = CatalogHeld(
        catalog_import_id=record.id,
        rows=[{"line": r["line"], "sku": r["sku"], "reason": r["reason"]} for r in record.held],
    )
    record_many(session, [(record.vendor_id, f"catalog-import:{record.id}", event)], now=now)
