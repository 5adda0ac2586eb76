"""Events connectors add to the outbox."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from network.outbox.events import DomainEvent


@dataclass(frozen=True)
class ConnectorOrderUnfilled(DomainEvent):
    """A store order's lines the hub sources but had no units for: the customer paid, someone must act."""

    wire_name: ClassVar[str] = "connector.order_unfilled"
    connector_id: int
    platform_order_id: str
    order_id: int | None
    lines: list
