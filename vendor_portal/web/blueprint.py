"""The portal blueprint (its name, "portal", is how the app knows to answer errors in HTML)."""

from __future__ import annotations

from flask import Blueprint

portal = Blueprint(
    "portal",
    __name__,
    url_prefix="/portal",
    template_folder="../templates",
    static_folder="../static",
    static_url_path="/static",
)
