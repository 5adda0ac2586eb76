"""Shopify Admin GraphQL: inventory by SKU, inventorySetQuantities, fulfillment orders, notes.

Every call carries X-Shopify-Access-Token. Shopify meters GraphQL by query cost (a leaky bucket:
`extensions.cost.throttleStatus` says what is left and how fast it refills); the client waits
for the bucket before a call would overdraw it, so the store should never need to answer 429 or
THROTTLED — and if it does, the wait it asks for is honoured.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from network.connectors.http import StoreError, Transport

API_VERSION = "2025-01"
# Shopify's limit on the quantities of one inventorySetQuantities call.
SET_BATCH = 250
# What one call may cost before its true cost is known (Shopify's worst case for our queries).
ESTIMATED_COST = 10.0


def gid(kind: str, value: str) -> str:
    return value if value.startswith("gid://") else f"gid://shopify/{kind}/{value}"


@dataclass
class ShopifyClient:
    shop_url: str
    access_token: str
    transport: Transport = field(default_factory=Transport)
    # The last throttle status the store reported: (available, restore rate per second, when).
    _bucket: tuple[float, float, float] | None = None
    # What each query text cost when last sent (its requestedQueryCost).
    _costs: dict[str, float] = field(default_factory=dict)
    throttled: int = 0

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        """Run one query; returns `data`. Raises StoreError on refusal or GraphQL errors.

        Before sending, waits until the bucket holds what this query cost last time (Shopify
        reports `requestedQueryCost`), or ESTIMATED_COST for a query not sent yet.
        """
        for _ in range(4):
            self._wait_for(self._costs.get(query, ESTIMATED_COST))
            response = self.transport.send(
                "POST",
                f"{self.shop_url}/admin/api/{API_VERSION}/graphql.json",
                json={"query": query, "variables": variables or {}},
                headers={"X-Shopify-Access-Token": self.access_token},
            )
            if response.status_code in (401, 403):
                raise StoreError(f"Shopify refused the access token ({response.status_code})")
            if response.status_code >= 400:
                raise StoreError(f"Shopify answered {response.status_code}")
            body = response.json()
            self._note_cost(query, body)
            errors = body.get("errors") or []
            if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                self.throttled += 1  # the bucket was shared with another app: wait and retry
                continue
            if errors:
                raise StoreError(
                    "Shopify GraphQL error: " + "; ".join(str(e.get("message")) for e in errors)[:300]
                )
            return body.get("data") or {}
        raise StoreError("Shopify kept answering THROTTLED")

    def _note_cost(self, query: str, body: dict) -> None:
        cost = (body.get("extensions") or {}).get("cost") or {}
        if cost.get("requestedQueryCost") is not None:
            self._costs[query] = float(cost["requestedQueryCost"])
        status = cost.get("throttleStatus")
        if status:
            self._bucket = (
                float(status["currentlyAvailable"]),
                float(status["restoreRate"]),
                time.monotonic(),
            )

    def _wait_for(self, cost: float) -> None:
        if self._bucket is None:
            return
        available, rate, at = self._bucket
        available += (time.monotonic() - at) * rate
        if available < cost and rate > 0:
            self.transport.sleep((cost - available) / rate)

    # --- inventory --------------------------------------------------------------------------

    def inventory_items(self, skus: Sequence[str]) -> dict[str, tuple[str, str]]:
        """SKU -> (variant gid, inventory item gid), for the SKUs the store has (first match)."""
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(skus), 50):
            chunk = skus[start : start + 50]
            search = " OR ".join(f'sku:"{sku}"' for sku in chunk)
            cursor = None
            while True:
                data = self.graphql(
                    "query($q: String!, $after: String) { productVariants(first: 100, query: $q, after: $after) {"
                    " nodes { id sku inventoryItem { id } } pageInfo { hasNextPage endCursor } } }",
                    {"q": search, "after": cursor},
                )
                page = data["productVariants"]
                for node in page["nodes"]:
                    if node.get("sku") in chunk and node["sku"] not in found:
                        found[node["sku"]] = (node["id"], node["inventoryItem"]["id"])
                if not page["pageInfo"]["hasNextPage"]:
                    break
                cursor = page["pageInfo"]["endCursor"]
        return found

    def set_available(self, location_id: str, quantities: Sequence[tuple[str, int]]) -> None:
        """Set `available` of inventory items at a location (absolute figures)."""
        for start in range(0, len(quantities), SET_BATCH):
            chunk = quantities[start : start + SET_BATCH]
            data = self.graphql(
                "mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities(input: $input) {"
                " inventoryAdjustmentGroup { id } userErrors { field message } } }",
                {
                    "input": {
                        "name": "available",
                        "reason": "correction",
                        # The hub's figure is the truth for a dropship listing: no compare-and-set.
                        "ignoreCompareQuantity": True,
                        "quantities": [
                            {
                                "inventoryItemId": item,
                                "locationId": gid("Location", location_id),
                                "quantity": qty,
                            }
                            for item, qty in chunk
                        ],
                    }
                },
            )
            _user_errors(data["inventorySetQuantities"])

    def levels(self, location_id: str, items: Sequence[str]) -> dict[str, int]:
        """Inventory item gid -> `available` at the location (for the drift report)."""
        result: dict[str, int] = {}
        for start in range(0, len(items), 100):
            data = self.graphql(
                "query($ids: [ID!]!, $loc: ID!) { nodes(ids: $ids) { ... on InventoryItem { id"
                ' inventoryLevel(locationId: $loc) { quantities(names: ["available"]) { name quantity } } } } }',
                {"ids": list(items[start : start + 100]), "loc": gid("Location", location_id)},
            )
            for node in data["nodes"]:
                if node and node.get("inventoryLevel"):
                    result[node["id"]] = node["inventoryLevel"]["quantities"][0]["quantity"]
        return result

    # --- orders -----------------------------------------------------------------------------

    def orders_since(self, cursor: str | None, *, limit: int = 250) -> list[dict]:
        """Order nodes updated after `cursor` (an RFC 3339 time), oldest first, page by page."""
        search = f"updated_at:>'{cursor}'" if cursor else None
        nodes: list[dict] = []
        after = None
        while len(nodes) < limit:
            data = self.graphql(
                "query($q: String, $after: String) { orders(first: 50, after: $after, query: $q, sortKey: UPDATED_AT) {"
                " pageInfo { hasNextPage endCursor } nodes { legacyResourceId name updatedAt cancelledAt"
                " shippingAddress { name address1 city zip countryCodeV2 }"
                " lineItems(first: 100) { nodes { id sku name quantity variant { legacyResourceId } } } } } }",
                {"q": search, "after": after},
            )
            page = data["orders"]
            nodes.extend(page["nodes"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        return nodes

    def fulfill(
        self, order_id: str, lines: Sequence[tuple[str, int]], *, carrier: str, number: str, url: str | None
    ) -> str:
        """Fulfil `lines` ((line item id, quantity)) of an order with tracking; returns the fulfillment gid."""
        data = self.graphql(
            "query($id: ID!) { order(id: $id) { fulfillmentOrders(first: 20) { nodes { id status"
            " lineItems(first: 100) { nodes { id remainingQuantity lineItem { id } } } } } } }",
            {"id": gid("Order", order_id)},
        )
        wanted = {gid("LineItem", line): qty for line, qty in lines}
        by_fo: dict[str, list[dict]] = {}
        for fo in (data.get("order") or {}).get("fulfillmentOrders", {}).get("nodes", []):
            if fo["status"] not in ("OPEN", "IN_PROGRESS"):
                continue
            for item in fo["lineItems"]["nodes"]:
                line = item["lineItem"]["id"]
                take = min(wanted.get(line, 0), item["remainingQuantity"])
                if take > 0:
                    by_fo.setdefault(fo["id"], []).append({"id": item["id"], "quantity": take})
                    wanted[line] -= take
        if not by_fo:
            raise StoreError(f"order {order_id} has no open fulfillment order lines for the shipment")
        data = self.graphql(
            "mutation($f: FulfillmentInput!) { fulfillmentCreate(fulfillment: $f) {"
            " fulfillment { id status } userErrors { field message } } }",
            {
                "f": {
                    "lineItemsByFulfillmentOrder": [
                        {"fulfillmentOrderId": fo, "fulfillmentOrderLineItems": items}
                        for fo, items in by_fo.items()
                    ],
                    "trackingInfo": {"company": carrier, "number": number, **({"url": url} if url else {})},
                    "notifyCustomer": True,
                }
            },
        )
        _user_errors(data["fulfillmentCreate"])
        return data["fulfillmentCreate"]["fulfillment"]["id"]

    def add_note(self, order_id: str, text: str) -> None:
        data = self.graphql("query($id: ID!) { order(id: $id) { id note } }", {"id": gid("Order", order_id)})
        note = ((data.get("order") or {}).get("note") or "").strip()
        data = self.graphql(
            "mutation($input: OrderInput!) { orderUpdate(input: $input) { order { id } userErrors { field message } } }",
            {"input": {"id": gid("Order", order_id), "note": f"{note}\n{text}".strip()}},
        )
        _user_errors(data["orderUpdate"])


def _user_errors(payload: dict) -> None:
    errors = payload.get("userErrors") or []
    if errors:
        raise StoreError("Shopify refused: " + "; ".join(e.get("message", "") for e in errors)[:300])
