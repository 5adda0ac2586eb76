"""Discontinue a product: it stops being offered at once, and its open lines are flagged."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from network.catalog import services as catalog
from network.catalog.models import VendorVariant
from network.flags.models import DISCONTINUED, Flag
from network.flags.services import line_ref, raise_flag
from network.orders.models import ACKNOWLEDGED, OPEN, PARTIALLY_SHIPPED, PurchaseOrderLine

# Line states that still owe units to ship.
OPEN_STATES = (OPEN, ACKNOWLEDGED, PARTIALLY_SHIPPED)


def discontinue(
    session: Session, *, vendor_id: int, vendor_sku: str, now: dt.datetime
) -> tuple[VendorVariant, int]:
    """Mark the variant inactive (its availability drops to zero for every retailer) and flag the
    unshipped lines that still wait for it; return the variant and the number of lines flagged.

    Raises NotFound.
    """
    from network.products.variants import save_variant  # saving flags the lines (flag_open_lines)

    variant = catalog.get_variant(session, vendor_id=vendor_id, vendor_sku=vendor_sku)
    save_variant(
        session, vendor_id=vendor_id, vendor_sku=vendor_sku, values={"active": False}, replace=False, now=now
    )
    flagged = session.scalar(
        sa.select(sa.func.count())
        .select_from(Flag)
        .join(PurchaseOrderLine, PurchaseOrderLine.id == Flag.po_line_id)
        .where(
            PurchaseOrderLine.variant_id == variant.id, Flag.kind == DISCONTINUED, Flag.resolved_at.is_(None)
        )
    )
    return variant, flagged or 0


def flag_open_lines(session: Session, variant: VendorVariant, *, now: dt.datetime) -> int:
    """Flag (`discontinued`) the lines with units still to ship of a variant that was just
    discontinued, telling each retailer (order.at_risk); return how many were flagged."""
    lines = session.scalars(
        sa.select(PurchaseOrderLine)
        .where(PurchaseOrderLine.variant_id == variant.id, PurchaseOrderLine.status.in_(OPEN_STATES))
        .options(selectinload(PurchaseOrderLine.purchase_order))
        .order_by(PurchaseOrderLine.id)
    ).all()
    flagged = 0
    for line in lines:
        if line.unshipped > 0:
            raise_flag(
                session,
                line_ref(line),
                kind=DISCONTINUED,
                now=now,
                detail={"vendor_sku": variant.vendor_sku, "unshipped": line.unshipped},
            )
            flagged += 1
    return flagged
