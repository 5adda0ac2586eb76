"""The vendor API (`/vendor-api/v1`): one module per resource, thin views over `network` services."""

from __future__ import annotations

from flask_smorest import Blueprint


def blueprints() -> list[Blueprint]:
    from vendor_portal.api import (
        audit,
        catalog,
        edi,
        events,
        feeds,
        guards,
        holds,
        inventory,
        invoices,
        ledger,
        purchase_orders,
        returns,
        webhooks,
    )

    return [
        catalog.blp,
        guards.blp,
        events.blp,
        webhooks.blp,
        ledger.blp,
        inventory.blp,
        feeds.blp,
        purchase_orders.blp,
        returns.blp,
        holds.blp,
        edi.blp,
        invoices.blp,
        audit.blp,
    ]
