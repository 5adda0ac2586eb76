"""Webhook endpoints of the retailer: register, manage, rotate secrets, ping, dead letters with replay."""

from __future__ import annotations

from flask_smorest import Blueprint

from api_common.webhooks import register_webhook_views

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1", description="Webhook endpoints and deliveries")
register_webhook_views(blp, kind="retailer")
