"""The retailer REST API (`/api/v1`): thin views over `network` services."""

from __future__ import annotations

from flask_smorest import Blueprint


def blueprints() -> list[Blueprint]:
    from retailer_api import (
        audit,
        availability,
        catalog,
        connections,
        connectors,
        events,
        flags,
        holds,
        invites,
        invoices,
        ledger,
        orders,
        settings,
        vendors,
        webhooks,
    )

    return [
        connections.blp,
        catalog.blp,
        availability.blp,
        events.blp,
        orders.blp,
        invites.blp,
        webhooks.blp,
        flags.blp,
        holds.blp,
        settings.blp,
        invoices.blp,
        ledger.blp,
        vendors.blp,
        audit.blp,
        connectors.blp,
        connectors.hooks,
    ]
