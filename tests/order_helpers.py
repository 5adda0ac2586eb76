"""Helpers for order tests: place orders and drive purchase orders through the real APIs."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from network.orders.models import PurchaseOrderLine
from network.stock.models import StockPosition
from tests.builders import Party, make_item, make_variant, push_json

SHIP_TO = {
    "name": "Ada Buyer",
    "address1": "1 Main St",
    "city": "Springfield",
    "postal_code": "12345",
    "country": "US",
}


def stocked_item(
    session: Session, vendor: Party, retailers: list[Party], quantity: int, **variant
) -> tuple[int, str]:
    """A variant with `quantity` units, sold as one item by each retailer (same sku for all)."""
    variant_id = make_variant(session, vendor, **variant)
    sku = None
    for retailer in retailers:
        sku = make_item(session, retailer, [variant_id], sku=sku)
    set_stock(session, vendor, variant_id, quantity)
    return variant_id, sku


def set_stock(session: Session, vendor: Party, variant_id: int, quantity: int, **row) -> None:
    from network.catalog.models import VendorVariant

    sku = session.get(VendorVariant, variant_id).vendor_sku
    response = push_json(vendor, [{"sku": sku, "quantity": quantity, **row}], mode="delta")
    assert response.status_code == 200 and response.get_json()["status"] == "applied", response.get_data(
        as_text=True
    )


def place(retailer: Party, lines: list[tuple[str, int]], *, key: str | None = None, **extra):
    body = {
        "reference": extra.pop("reference", f"R-{uuid.uuid4().hex[:8]}"),
        "lines": [{"retailer_sku": sku, "quantity": q} for sku, q in lines],
        "ship_to": SHIP_TO,
        **extra,
    }
    return retailer.api.post(
        "/api/v1/orders", json=body, headers={"Idempotency-Key": key or uuid.uuid4().hex}
    )


def position(session: Session, variant_id: int) -> StockPosition:
    session.expire_all()
    row = session.get(StockPosition, variant_id)
    session.rollback()
    return row


def po_of(vendor: Party, po_id: int) -> dict:
    response = vendor.api.get(f"/vendor-api/v1/purchase-orders/{po_id}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def live_units(session: Session, variant_id: int) -> int:
    """The variant's units on live purchase-order lines: ordered less cancelled and rejected."""
    return session.scalar(
        sa.select(
            sa.func.coalesce(
                sa.func.sum(
                    PurchaseOrderLine.ordered - PurchaseOrderLine.cancelled - PurchaseOrderLine.rejected
                ),
                0,
            )
        ).where(PurchaseOrderLine.variant_id == variant_id)
    )
