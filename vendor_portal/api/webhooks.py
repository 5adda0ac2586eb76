"""Webhook endpoints of the vendor: its systems hear po.created, feed.held, hold.placed... signed,
retried and dead-lettered as retailers' endpoints are (network/outbox)."""

from __future__ import annotations

from flask_smorest import Blueprint

from api_common.webhooks import register_webhook_views

blp = Blueprint(
    "vendor_webhooks",
    __name__,
    url_prefix="/vendor-api/v1",
    description="Vendor webhook endpoints and deliveries",
)
register_webhook_views(blp, kind="vendor")
