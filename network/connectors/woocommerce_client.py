"""WooCommerce REST v3 (/wp-json/wc/v3): products by SKU, products/batch stock, order status and notes.

Authenticated with the consumer key and secret by HTTP Basic (WooCommerce accepts it over HTTPS).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from network.connectors.http import StoreError, Transport

# WooCommerce refuses a batch of more than 100 objects.
BATCH = 100
# The shipment-tracking meta the common plugins (WooCommerce Shipment Tracking) read.
TRACKING_META = "_wc_shipment_tracking_items"


@dataclass
class WooClient:
    shop_url: str
    consumer_key: str
    consumer_secret: str
    transport: Transport = field(default_factory=Transport)

    def _call(self, method: str, path: str, **kwargs):
        response = self.transport.send(
            method,
            f"{self.shop_url}/wp-json/wc/v3{path}",
            auth=(self.consumer_key, self.consumer_secret),
            **kwargs,
        )
        if response.status_code in (401, 403):
            raise StoreError(f"WooCommerce refused the consumer key ({response.status_code})")
        if response.status_code >= 400:
            raise StoreError(f"WooCommerce answered {response.status_code}: {response.text[:200]}")
        return response.json()

    def products_by_sku(self, skus: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        """SKU -> (product or variation id, parent product id for a variation)."""
        found: dict[str, tuple[str, str | None]] = {}
        for sku in skus:
            for product in self._call("GET", "/products", params={"sku": sku}):
                parent = product.get("parent_id") or None
                found[sku] = (str(product["id"]), str(parent) if parent else None)
                break
        return found

    def set_stock(self, figures: Sequence[tuple[str, str | None, int]]) -> None:
        """Set stock of (id, parent id, quantity): simple products by products/batch, variations by
        their parent's variations/batch, at most BATCH per call."""
        groups: dict[str | None, list[dict]] = {}
        for product_id, parent, quantity in figures:
            groups.setdefault(parent, []).append(
                {"id": int(product_id), "manage_stock": True, "stock_quantity": quantity}
            )
        for parent, updates in groups.items():
            path = f"/products/{parent}/variations/batch" if parent else "/products/batch"
            for start in range(0, len(updates), BATCH):
                answer = self._call("POST", path, json={"update": updates[start : start + BATCH]})
                # A batch answers 200 with an error per object it refused.
                refused = [u.get("id") for u in answer.get("update", []) if "error" in u]
                if refused:
                    raise StoreError(f"WooCommerce refused the stock of products {refused[:10]}")

    def orders_since(self, cursor: str | None, *, limit: int = 500) -> list[dict]:
        """Orders modified after `cursor` (GMT, as date_modified_gmt), oldest first, page by page."""
        orders: list[dict] = []
        page = 1
        while len(orders) < limit:
            params = {"orderby": "modified", "order": "asc", "per_page": 100, "page": page}
            if cursor:
                params |= {"modified_after": cursor, "dates_are_gmt": "true"}
            response = self.transport.send(
                "GET",
                f"{self.shop_url}/wp-json/wc/v3/orders",
                params=params,
                auth=(self.consumer_key, self.consumer_secret),
            )
            if response.status_code >= 400:
                raise StoreError(f"WooCommerce answered {response.status_code} listing orders")
            orders.extend(response.json())
            if page >= int(response.headers.get("X-WP-TotalPages", "1") or 1):
                break
            page += 1
        return orders

    def stock_of(self, product_id: str, parent: str | None) -> int | None:
        path = f"/products/{parent}/variations/{product_id}" if parent else f"/products/{product_id}"
        return self._call("GET", path).get("stock_quantity")

    def fulfill(
        self, order_id: str, *, carrier: str, number: str, url: str | None, complete: bool, note: str
    ) -> None:
        """Record tracking on the order (meta + a customer note); mark it completed when all is shipped."""
        order = self._call("GET", f"/orders/{order_id}")
        items = (
            next((m["value"] for m in order.get("meta_data", []) if m.get("key") == TRACKING_META), None)
            or []
        )
        items = [
            *items,
            {"tracking_provider": carrier, "tracking_number": number, "custom_tracking_link": url or ""},
        ]
        body: dict = {"meta_data": [{"key": TRACKING_META, "value": items}]}
        if complete:
            body["status"] = "completed"
        self._call("PUT", f"/orders/{order_id}", json=body)
        self.add_note(order_id, note, customer=True)

    def add_note(self, order_id: str, text: str, *, customer: bool = False) -> None:
        self._call("POST", f"/orders/{order_id}/notes", json={"note": text, "customer_note": customer})
