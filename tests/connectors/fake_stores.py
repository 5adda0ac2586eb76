"""Local stand-ins for a Shopify and a WooCommerce store, served on 127.0.0.1 by werkzeug.

They implement the parts of the documented APIs the hub calls, and refuse what the real ones
refuse: a missing or wrong access token / consumer key (401), unknown inputs and ids (GraphQL
errors, userErrors, 400/404), a WooCommerce batch over 100 objects (413). The Shopify store meters
GraphQL by query cost (a leaky bucket reported in `extensions.cost.throttleStatus`, THROTTLED when
overdrawn) and can be told to answer 429 with Retry-After. Everything sent is recorded.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from dataclasses import dataclass, field

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class _Served:
    def start(self) -> str:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        self._server.shutdown()

    def _wsgi(self, environ, start_response):
        request = Request(environ)
        with self.lock:
            response = self.handle(request)
        return response(environ, start_response)


def _json(body: object, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers or {})


@dataclass
class FakeShopify(_Served):
    token: str = "shpat_test_token"
    location: str = "gid://shopify/Location/1"
    # variants: sku -> (variant gid, inventory item gid); levels: inventory item gid -> available
    variants: dict = field(default_factory=dict)
    levels: dict = field(default_factory=dict)
    orders: dict = field(default_factory=dict)  # order gid -> {note, fulfillment_orders: [...]}
    fulfillments: list = field(default_factory=list)
    page_size: int = 100
    bucket_max: float = 1000.0
    restore_rate: float = 50.0
    query_cost: float = 10.0
    force_429: int = 0  # answer the next N requests 429 with Retry-After
    retry_after: str = "1"
    requests: int = 0
    refused_429: int = 0
    throttled: int = 0
    set_calls: list = field(default_factory=list)
    order_nodes: list = field(default_factory=list)  # what the `orders` query lists (polling)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._available = self.bucket_max
        self._at = time.monotonic()

    def add_variant(self, sku: str, n: int, available: int = 0) -> str:
        item = f"gid://shopify/InventoryItem/{n}"
        self.variants[sku] = (f"gid://shopify/ProductVariant/{n}", item)
        self.levels[item] = available
        return item

    def add_order(self, order_id: str, lines: dict[str, int]) -> None:
        """An order with one open fulfillment order holding `lines` (line item id -> quantity)."""
        self.orders[f"gid://shopify/Order/{order_id}"] = {
            "note": "",
            "fulfillment_orders": [
                {
                    "id": f"gid://shopify/FulfillmentOrder/{order_id}",
                    "status": "OPEN",
                    "lines": {
                        f"gid://shopify/FulfillmentOrderLineItem/{line}": [
                            f"gid://shopify/LineItem/{line}",
                            qty,
                        ]
                        for line, qty in lines.items()
                    },
                }
            ],
        }

    def available_of(self, sku: str) -> int:
        return self.levels[self.variants[sku][1]]

    # --- the API ------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        self.requests += 1
        if (
            not re.fullmatch(r"/admin/api/\d{4}-\d{2}/graphql\.json", request.path)
            or request.method != "POST"
        ):
            return _json({"errors": "Not Found"}, 404)
        if request.headers.get("X-Shopify-Access-Token") != self.token:
            return _json(
                {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"},
                401,
            )
        if self.force_429:
            self.force_429 -= 1
            self.refused_429 += 1
            return _json(
                {"errors": "Exceeded 2 calls per second for api client."},
                429,
                {"Retry-After": self.retry_after},
            )
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return _json({"errors": [{"message": "Parse error"}]}, 400)
        now = time.monotonic()
        self._available = min(self.bucket_max, self._available + (now - self._at) * self.restore_rate)
        self._at = now
        cost = {"requestedQueryCost": self.query_cost, "actualQueryCost": None}
        if self._available < self.query_cost:
            self.throttled += 1
            return _json(
                {
                    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                    "extensions": {"cost": {**cost, "throttleStatus": self._status()}},
                }
            )
        self._available -= self.query_cost
        cost["actualQueryCost"] = self.query_cost
        try:
            data = self._run(body["query"], body.get("variables") or {})
        except ValueError as exc:
            return _json(
                {
                    "errors": [{"message": str(exc)}],
                    "extensions": {"cost": {**cost, "throttleStatus": self._status()}},
                }
            )
        return _json({"data": data, "extensions": {"cost": {**cost, "throttleStatus": self._status()}}})

    def _status(self) -> dict:
        return {
            "maximumAvailable": self.bucket_max,
            "currentlyAvailable": int(self._available),
            "restoreRate": self.restore_rate,
        }

    def _run(self, query: str, variables: dict) -> dict:
        if "inventorySetQuantities" in query:
            return self._set_quantities(variables["input"])
        if "productVariants" in query:
            return self._variants(variables)
        if "fulfillmentCreate" in query:
            return self._fulfillment_create(variables["f"])
        if "orderUpdate" in query:
            order = self.orders.get(variables["input"]["id"])
            if order is None:
                return {
                    "orderUpdate": {
                        "order": None,
                        "userErrors": [{"field": ["id"], "message": "Order does not exist"}],
                    }
                }
            order["note"] = variables["input"]["note"]
            return {"orderUpdate": {"order": {"id": variables["input"]["id"]}, "userErrors": []}}
        if "orders(first" in query:
            return self._orders(variables)
        if "fulfillmentOrders" in query:
            order = self.orders.get(variables["id"])
            if order is None:
                return {"order": None}
            return {
                "order": {
                    "fulfillmentOrders": {"nodes": [self._fo(fo) for fo in order["fulfillment_orders"]]}
                }
            }
        if "note" in query and "order(" in query:
            order = self.orders.get(variables["id"])
            return {"order": {"id": variables["id"], "note": order["note"]} if order else None}
        if "nodes(ids" in query:
            if variables.get("loc") != self.location:
                raise ValueError("Invalid id: location")
            return {
                "nodes": [
                    {
                        "id": i,
                        "inventoryLevel": {"quantities": [{"name": "available", "quantity": self.levels[i]}]},
                    }
                    if i in self.levels
                    else None
                    for i in variables["ids"]
                ]
            }
        raise ValueError("Field doesn't exist on type 'QueryRoot'")

    def _orders(self, variables: dict) -> dict:
        query = variables.get("q") or ""
        match = re.fullmatch(r"updated_at:>'([^']+)'", query) if query else None
        if query and not match:
            raise ValueError(f"Invalid search query: {query}")
        since = match.group(1) if match else ""
        nodes = sorted((n for n in self.order_nodes if n["updatedAt"] > since), key=lambda n: n["updatedAt"])
        start = int(variables.get("after") or 0)
        page = nodes[start : start + self.page_size]
        more = start + self.page_size < len(nodes)
        return {
            "orders": {
                "nodes": page,
                "pageInfo": {"hasNextPage": more, "endCursor": str(start + self.page_size) if more else None},
            }
        }

    def _variants(self, variables: dict) -> dict:
        wanted = re.findall(r'sku:"([^"]*)"', variables.get("q") or "")
        matches = [(sku, ids) for sku, ids in sorted(self.variants.items()) if sku in wanted]
        start = int(variables.get("after") or 0)
        page = matches[start : start + self.page_size]
        more = start + self.page_size < len(matches)
        return {
            "productVariants": {
                "nodes": [{"id": v, "sku": sku, "inventoryItem": {"id": item}} for sku, (v, item) in page],
                "pageInfo": {"hasNextPage": more, "endCursor": str(start + self.page_size) if more else None},
            }
        }

    def _set_quantities(self, data: dict) -> dict:
        allowed = {"name", "reason", "ignoreCompareQuantity", "quantities", "referenceDocumentUri"}
        if set(data) - allowed:
            raise ValueError(
                f"Variable $input of type InventorySetQuantitiesInput! was provided invalid value: {sorted(set(data) - allowed)}"
            )
        if data.get("name") not in ("available", "on_hand") or not data.get("reason"):
            raise ValueError("Variable $input: name and reason are required")
        errors = []
        for index, q in enumerate(data["quantities"]):
            if set(q) != {"inventoryItemId", "locationId", "quantity"} or not isinstance(q["quantity"], int):
                raise ValueError("Variable $input: invalid InventoryQuantityInput")
            if q["inventoryItemId"] not in self.levels:
                errors.append(
                    {
                        "field": ["input", "quantities", str(index), "inventoryItemId"],
                        "message": "The specified inventory item could not be found.",
                    }
                )
            elif q["locationId"] != self.location:
                errors.append(
                    {
                        "field": ["input", "quantities", str(index), "locationId"],
                        "message": "The specified location could not be found.",
                    }
                )
        if errors:
            return {"inventorySetQuantities": {"inventoryAdjustmentGroup": None, "userErrors": errors}}
        if not data.get("ignoreCompareQuantity"):
            return {
                "inventorySetQuantities": {
                    "inventoryAdjustmentGroup": None,
                    "userErrors": [{"field": ["input"], "message": "compareQuantity is required"}],
                }
            }
        self.set_calls.append([(q["inventoryItemId"], q["quantity"]) for q in data["quantities"]])
        for q in data["quantities"]:
            self.levels[q["inventoryItemId"]] = q["quantity"]
        return {
            "inventorySetQuantities": {
                "inventoryAdjustmentGroup": {"id": "gid://shopify/InventoryAdjustmentGroup/1"},
                "userErrors": [],
            }
        }

    @staticmethod
    def _fo(fo: dict) -> dict:
        return {
            "id": fo["id"],
            "status": fo["status"],
            "lineItems": {
                "nodes": [
                    {"id": i, "remainingQuantity": qty, "lineItem": {"id": line}}
                    for i, (line, qty) in fo["lines"].items()
                ]
            },
        }

    def _fulfillment_create(self, data: dict) -> dict:
        tracking = data.get("trackingInfo") or {}
        if set(tracking) - {"company", "number", "url", "numbers", "urls"}:
            raise ValueError("Variable $f: invalid FulfillmentTrackingInput")
        fos = {fo["id"]: fo for order in self.orders.values() for fo in order["fulfillment_orders"]}
        for group in data["lineItemsByFulfillmentOrder"]:
            fo = fos.get(group["fulfillmentOrderId"])
            if fo is None:
                return {
                    "fulfillmentCreate": {
                        "fulfillment": None,
                        "userErrors": [
                            {"field": ["fulfillment"], "message": "Fulfillment order does not exist."}
                        ],
                    }
                }
            for item in group["fulfillmentOrderLineItems"]:
                if item["id"] not in fo["lines"] or item["quantity"] > fo["lines"][item["id"]][1]:
                    return {
                        "fulfillmentCreate": {
                            "fulfillment": None,
                            "userErrors": [
                                {
                                    "field": ["fulfillment"],
                                    "message": "Invalid fulfillment order line item quantity requested.",
                                }
                            ],
                        }
                    }
        for group in data["lineItemsByFulfillmentOrder"]:
            fo = fos[group["fulfillmentOrderId"]]
            for item in group["fulfillmentOrderLineItems"]:
                fo["lines"][item["id"]][1] -= item["quantity"]
            if all(qty == 0 for _, qty in fo["lines"].values()):
                fo["status"] = "CLOSED"
            else:
                fo["status"] = "IN_PROGRESS"
        self.fulfillments.append(data)
        return {
            "fulfillmentCreate": {
                "fulfillment": {
                    "id": f"gid://shopify/Fulfillment/{len(self.fulfillments)}",
                    "status": "SUCCESS",
                },
                "userErrors": [],
            }
        }


@dataclass
class FakeWoo(_Served):
    key: str = "ck_test"
    secret: str = "cs_test"
    products: dict = field(default_factory=dict)  # id -> {id, sku, parent_id, stock_quantity}
    orders: dict = field(default_factory=dict)  # id -> {id, status, meta_data, notes}
    batches: list = field(default_factory=list)
    force_429: int = 0
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle(self, request: Request) -> Response:
        self.requests += 1
        auth = request.headers.get("Authorization", "")
        expected = "Basic " + base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
        if auth != expected:
            return _json(
                {
                    "code": "woocommerce_rest_cannot_view",
                    "message": "Sorry, you cannot list resources.",
                    "data": {"status": 401},
                },
                401,
            )
        if self.force_429:
            self.force_429 -= 1
            return _json({"code": "too_many_requests"}, 429, {"Retry-After": "1"})
        path = request.path.removeprefix("/wp-json/wc/v3")
        body = request.get_json(silent=True) if request.method in ("POST", "PUT") else None
        if path == "/orders" and request.method == "GET":
            return self._list_orders(request)
        if path == "/products" and request.method == "GET":
            sku = request.args.get("sku")
            return _json([p for p in self.products.values() if p["sku"] == sku])
        if match := re.fullmatch(r"/products(?:/(\d+)/variations)?/batch", path):
            return self._batch(body, match.group(1))
        if match := re.fullmatch(r"/products/(\d+)(?:/variations/(\d+))?", path):
            product = self.products.get(int(match.group(2) or match.group(1)))
            return _json(product) if product else _json({"code": "woocommerce_rest_product_invalid_id"}, 404)
        if match := re.fullmatch(r"/orders/(\d+)", path):
            order = self.orders.get(int(match.group(1)))
            if order is None:
                return _json({"code": "woocommerce_rest_shop_order_invalid_id"}, 404)
            if request.method == "PUT":
                if not isinstance(body, dict) or set(body) - {"status", "meta_data"}:
                    return _json({"code": "rest_invalid_param"}, 400)
                if "status" in body:
                    if body["status"] not in (
                        "pending",
                        "processing",
                        "on-hold",
                        "completed",
                        "cancelled",
                        "refunded",
                        "failed",
                    ):
                        return _json(
                            {"code": "rest_invalid_param", "message": "Invalid parameter(s): status"}, 400
                        )
                    order["status"] = body["status"]
                for meta in body.get("meta_data", []):
                    order["meta_data"] = [m for m in order["meta_data"] if m["key"] != meta["key"]] + [meta]
            return _json(order)
        if match := re.fullmatch(r"/orders/(\d+)/notes", path):
            order = self.orders.get(int(match.group(1)))
            if order is None or not isinstance(body, dict) or not body.get("note"):
                return _json({"code": "rest_missing_callback_param"}, 400)
            order["notes"].append(body)
            return _json({"id": len(order["notes"]), **body}, 201)
        return _json({"code": "rest_no_route"}, 404)

    def _list_orders(self, request: Request) -> Response:
        per_page = int(request.args.get("per_page", 10))
        if per_page > 100:
            return _json({"code": "rest_invalid_param", "message": "Invalid parameter(s): per_page"}, 400)
        since = request.args.get("modified_after", "")
        listed = sorted(
            (o for o in self.orders.values() if "line_items" in o and o["date_modified_gmt"] > since),
            key=lambda o: o["date_modified_gmt"],
        )
        page = int(request.args.get("page", 1))
        pages = max(1, -(-len(listed) // per_page))
        return _json(listed[(page - 1) * per_page : page * per_page], headers={"X-WP-TotalPages": str(pages)})

    def _batch(self, body, parent) -> Response:
        updates = (body or {}).get("update") or []
        if len(updates) > 100:
            return _json(
                {
                    "code": "rest_request_entity_too_large",
                    "message": "Unable to accept more than 100 items for this request.",
                },
                413,
            )
        self.batches.append(updates)
        answered = []
        for update in updates:
            product = self.products.get(update.get("id"))
            if product is None or (parent and str(product.get("parent_id")) != parent):
                answered.append(
                    {"id": update.get("id"), "error": {"code": "woocommerce_rest_product_invalid_id"}}
                )
                continue
            if not isinstance(update.get("stock_quantity"), int):
                answered.append({"id": update["id"], "error": {"code": "rest_invalid_param"}})
                continue
            product["stock_quantity"] = update["stock_quantity"]
            answered.append(product)
        return _json({"update": answered})
