"""The ceiling of bench/availability_read.py: the real app plus one route doing a single primary-key SELECT.

Bench-only: served by gunicorn as `availability_ceiling_app:app` (bench/ on the Python path), with
the same settings as the real app, so the difference between the two is what an availability read
does beyond one primary-key lookup (token check, query parsing, the joined source query, the
formula, serialization).
"""

from __future__ import annotations

from network.app import create_app
from network.catalog.models import RetailerItem
from network.extensions import db

app = create_app()


@app.get("/bench/items/<int:item_id>")
def one_item(item_id: int) -> dict:
    """Read one retailer item by primary key through db.session."""
    item = db.session.get(RetailerItem, item_id)
    return {"id": item.id, "retailer_sku": item.retailer_sku, "published_available": item.published_available}
