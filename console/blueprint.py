"""The console blueprint (its name, "console", is how the app knows to answer errors in HTML)."""

from __future__ import annotations

from flask import Blueprint

console = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")
