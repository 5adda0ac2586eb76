"""Domain events: small frozen records with a stable wire name."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar


@dataclass(frozen=True)
class DomainEvent:
    wire_name: ClassVar[str]

    def payload(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class AvailabilityChanged(DomainEvent):
    wire_name: ClassVar[str] = "availability.changed"
    retailer_sku: str
    available: int
    previous: int | None
    updated_at: str


@dataclass(frozen=True)
class FeedApplied(DomainEvent):
    wire_name: ClassVar[str] = "feed.applied"
    feed_run_id: int
    status: str
    rows_seen: int
    rows_applied: int
    rows_rejected: int
