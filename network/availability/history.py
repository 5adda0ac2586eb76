"""The ledger behind a retailer item's figure: entries of the variants that source it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.catalog import services as catalog
from network.catalog.models import ItemSource, VendorVariant
from network.partners.models import Connection
from network.stock.ledger import LedgerLine, ledger_page


def item_ledger(
    session: Session, *, retailer_id: int, retailer_sku: str, after_id: int, limit: int
) -> list[LedgerLine]:
    """Entries of the item's sources whose vendor has an active connection with the retailer, oldest
    first; entries that concern another retailer only are left out. Raises NotFound."""
    item = catalog.get_item(session, retailer_id=retailer_id, retailer_sku=retailer_sku)
    variant_ids = session.scalars(
        sa.select(ItemSource.variant_id)
        .join(VendorVariant, VendorVariant.id == ItemSource.variant_id)
        .join(
            Connection,
            sa.and_(
                Connection.vendor_id == VendorVariant.vendor_id,
                Connection.retailer_id == retailer_id,
                Connection.status == "active",
            ),
        )
        .where(ItemSource.item_id == item.id)
    ).all()
    return ledger_page(
        session, variant_ids=variant_ids, after_id=after_id, limit=limit, retailer_id=retailer_id
    )
