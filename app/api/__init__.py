"""HTTP resources, one module each; nothing below this package imports it."""

from __future__ import annotations

from app.api import (
    audit_log,
    auth,
    bundles,
    catalog_admin,
    enterprises,
    favorites,
    health,
    home,
    me,
    search,
    services,
    themes,
)
from app.extensions import api


def register_blueprints() -> None:
    """Register every resource's blueprint with the OpenAPI-documented Api."""
    for module in (health, auth, me, enterprises, favorites, home, themes, services, bundles,
                   search, catalog_admin, audit_log):
        api.register_blueprint(module.blp)
