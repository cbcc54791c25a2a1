"""HTTP resources, one module each; nothing below this package imports it."""

from __future__ import annotations

from app.api import (
    audit_log,
    auth,
    bundles,
    catalog_admin,
    certificates,
    enterprises,
    favorites,
    health,
    home,
    integrations,
    me,
    prefill,
    search,
    services,
    themes,
    verifications,
)
from app.extensions import api


def register_blueprints() -> None:
    """Register every resource's blueprint with the OpenAPI-documented Api."""
    for module in (health, auth, me, enterprises, favorites, home, themes, services, bundles,
                   search, prefill, certificates, verifications, integrations, catalog_admin,
                   audit_log):
        api.register_blueprint(module.blp)
    api.register_blueprint(verifications.jwks_blp)
