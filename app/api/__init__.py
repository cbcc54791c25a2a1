"""HTTP resources, one module each; nothing below this package imports it."""

from __future__ import annotations

from app.api import health, themes
from app.extensions import api


def register_blueprints() -> None:
    """Register every resource's blueprint with the OpenAPI-documented Api."""
    for module in (health, themes):
        api.register_blueprint(module.blp)
