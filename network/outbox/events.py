"""Domain events: small frozen records with a stable wire name."""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass, fields, is_dataclass
from typing import ClassVar


@dataclass(frozen=True)
class DomainEvent:
    wire_name: ClassVar[str]

    def payload(self) -> dict:
        return asdict(self)

    def payload_json(self) -> str:
        """`json.dumps(self.payload())`, the same text without `asdict`'s deep copy of every field
        (a tenth of an order's Python when events are written as arrays on PostgreSQL)."""
        return json.dumps({name: getattr(self, name) for name in _field_names(type(self))}, default=_nested)


@functools.cache
def _field_names(kind: type) -> tuple[str, ...]:
    return tuple(field.name for field in fields(kind))


def _nested(value: object) -> object:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


@dataclass(frozen=True)
class AvailabilityChanged(DomainEvent):
    wire_name: ClassVar[str] = "availability.changed"
    retailer_sku: str
    available: int
    previous: int | None
    updated_at: str


@dataclass(frozen=True)
class FeedHeld(DomainEvent):
    """A full feed that looks like a broken export was held; the vendor applies or discards it."""

    wire_name: ClassVar[str] = "feed.held"
    feed_run_id: int
    feed_id: int | None
    hold_reason: str
    message: str
    rows_seen: int


@dataclass(frozen=True)
class FeedFailed(DomainEvent):
    """Pulling a feed URL failed (first failure of a streak); the hub retries with backoff."""

    wire_name: ClassVar[str] = "feed.failed"
    feed_id: int
    feed_run_id: int
    reason: str
    next_attempt_at: str


@dataclass(frozen=True)
class FeedStale(DomainEvent):
    """A vendor's last count is older than a connection's stale_after: its stock counts as zero."""

    wire_name: ClassVar[str] = "feed.stale"
    vendor_id: int
    retailer_id: int
    last_count_at: str
    stale_after_minutes: int


@dataclass(frozen=True)
class FeedRecovered(DomainEvent):
    """A stale vendor sent a count again: its stock counts again."""

    wire_name: ClassVar[str] = "feed.recovered"
    vendor_id: int
    retailer_id: int
    last_count_at: str


@dataclass(frozen=True)
class FeedLate(DomainEvent):
    """A feed has been silent for three of its usual intervals: a warning before it goes stale."""

    wire_name: ClassVar[str] = "feed.late"
    feed_id: int
    vendor_id: int
    last_success_at: str | None
    usual_interval_minutes: int


@dataclass(frozen=True)
class FeedApplied(DomainEvent):
    wire_name: ClassVar[str] = "feed.applied"
    feed_run_id: int
    status: str
    rows_seen: int
    rows_applied: int
    rows_rejected: int


@dataclass(frozen=True)
class Ping(DomainEvent):
    """A test event sent to one webhook endpoint on its owner's request."""

    wire_name: ClassVar[str] = "ping"
    endpoint_id: int
    message: str = "ping from the Dropnet hub"


@dataclass(frozen=True)
class OrderAccepted(DomainEvent):
    wire_name: ClassVar[str] = "order.accepted"
    order_id: int
    reference: str
    status: str
    lines: list  # [{line_id, retailer_sku, requested, accepted}]
    purchase_order_ids: list


@dataclass(frozen=True)
class PurchaseOrderCreated(DomainEvent):
    wire_name: ClassVar[str] = "po.created"
    purchase_order_id: int
    order_id: int
    lines: list  # [{line_id, vendor_sku, quantity}]


@dataclass(frozen=True)
class PurchaseOrderAcknowledged(DomainEvent):
    wire_name: ClassVar[str] = "po.acknowledged"
    purchase_order_id: int
    order_id: int
    status: str
    lines: list  # [{line_id, order_line_id, quantity}]


@dataclass(frozen=True)
class PurchaseOrderShipped(DomainEvent):
    wire_name: ClassVar[str] = "po.shipped"
    purchase_order_id: int
    order_id: int
    status: str
    shipment_id: int
    carrier: str
    tracking_number: str
    lines: list


@dataclass(frozen=True)
class PurchaseOrderCancelled(DomainEvent):
    wire_name: ClassVar[str] = "po.cancelled"
    purchase_order_id: int
    order_id: int
    status: str
    by: str  # retailer | vendor | hub (a reroute, network/flags/reroute.py)
    reason: str
    lines: list


@dataclass(frozen=True)
class PurchaseOrderRejected(DomainEvent):
    wire_name: ClassVar[str] = "po.rejected"
    purchase_order_id: int
    order_id: int
    status: str
    reason: str
    lines: list


@dataclass(frozen=True)
class ReturnOpened(DomainEvent):
    wire_name: ClassVar[str] = "return.opened"
    return_id: int
    order_id: int
    purchase_order_id: int
    quantity: int
    reason: str
    lines: list


@dataclass(frozen=True)
class ReturnGraded(DomainEvent):
    wire_name: ClassVar[str] = "return.graded"
    return_id: int
    order_id: int
    resellable: int
    damaged: int
    status: str


@dataclass(frozen=True)
class ReturnReceived(DomainEvent):
    wire_name: ClassVar[str] = "return.received"
    return_id: int
    order_id: int
    received: int
    status: str


# --- flags (DESIGN §9) -------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderAtRisk(DomainEvent):
    """A flag was raised on an order line: its fulfilment became doubtful."""

    wire_name: ClassVar[str] = "order.at_risk"
    flag_id: int
    kind: str
    order_id: int
    line_id: int
    # None on an `unfillable` flag: the line's missing units have no purchase order yet.
    purchase_order_id: int | None
    purchase_order_line_id: int | None
    raised_at: str
    detail: dict


@dataclass(frozen=True)
class FlagResolved(DomainEvent):
    """A flag cleared: the cause went away (stock restored, acknowledged, shipped, rerouted, ...)."""

    wire_name: ClassVar[str] = "flag.resolved"
    flag_id: int
    kind: str
    order_id: int
    line_id: int
    resolution: str
    resolved_at: str


@dataclass(frozen=True)
class OrderLineRerouted(DomainEvent):
    """The hub moved units of an order line from one source to another (the retailer's policy)."""

    wire_name: ClassVar[str] = "order.rerouted"
    order_id: int
    line_id: int
    from_purchase_order_line_id: int
    quantity: int
    to: list  # [{purchase_order_id, purchase_order_line_id, vendor_id, vendor_variant_id, quantity}]


@dataclass(frozen=True)
class PurchaseOrderAckOverdue(DomainEvent):
    """To the vendor: lines of a purchase order passed their acknowledgement deadline."""

    wire_name: ClassVar[str] = "po.ack_overdue"
    purchase_order_id: int
    order_id: int
    due_at: str
    line_ids: list


@dataclass(frozen=True)
class VariantHoldPlaced(DomainEvent):
    """To the vendor: a variant it refused for lack of stock is held at zero across the network."""

    wire_name: ClassVar[str] = "hold.placed"
    hold_id: int
    vendor_variant_id: int
    vendor_sku: str
    until: str
    reason: str
    quantity_on_record: int


@dataclass(frozen=True)
class VariantHoldLifted(DomainEvent):
    """To the vendor: a hold ended (its time ran out, a new count confirmed stock, or someone lifted it)."""

    wire_name: ClassVar[str] = "hold.lifted"
    hold_id: int
    vendor_variant_id: int
    lifted_by: str


# --- the vendor's catalog -----------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogChanged(DomainEvent):
    """To a retailer: a vendor variant that sources its items changed its cost, MAP or content."""

    wire_name: ClassVar[str] = "catalog.changed"
    vendor_id: int
    vendor_variant_id: int
    vendor_sku: str
    retailer_skus: list
    changes: dict  # field -> [before, after]


@dataclass(frozen=True)
class CatalogHeld(DomainEvent):
    """To the vendor: catalog rows that look like a slip (a price moved too far) wait for confirmation."""

    wire_name: ClassVar[str] = "catalog.held"
    catalog_import_id: int
    rows: list  # [{line, sku, reason}]
