"""HTTP only: resources, schemas, the error shape, OpenAPI docs; nothing below imports it."""

from __future__ import annotations

from flask import Flask

# Chinese validation messages must be in place before any schema below is defined.
from app.api import validation_messages  # noqa: F401
from app.api.docs import Api
from app.extensions import jwt

api = Api()


def init_app(app: Flask) -> None:
    """Bind the OpenAPI-documented Api, every resource's blueprint, the error handlers and the
    JWT callbacks (who is calling, in the one error shape)."""
    from app.api import (
        auth,
        bundles,
        case_ratings,
        cases,
        certificates,
        enterprises,
        favorites,
        health,
        home,
        me,
        messages,
        prefill,
        push_preferences,
        search,
        services,
        subscriptions,
        tags,
        themes,
        uploads,
        verifications,
    )
    from app.api.admin import (
        audiences,
        audit_log,
        catalog,
        push_rules,
        push_stats,
        rectifications,
    )
    from app.api.admin import tags as admin_tags
    from app.api.errors import register_error_handlers, register_jwt_errors
    from app.api.partners import cases as partner_cases
    from app.api.partners import certificates as partner_certificates
    from app.api.permissions import register_jwt_callbacks
    from app.api.request_bodies import ApiRequest
    from app.api.security_headers import register_security_headers

    app.request_class = ApiRequest
    api.init_app(app)
    for module in (health, auth, me, enterprises, favorites, home, themes, services, bundles,
                   search, prefill, certificates, verifications, cases, partner_certificates,
                   partner_cases, catalog, audit_log, case_ratings, rectifications, uploads,
                   tags, push_preferences, admin_tags, audiences, messages, push_stats,
                   push_rules, subscriptions):
        api.register_blueprint(module.blp)
    api.register_blueprint(verifications.jwks_blp)
    register_error_handlers(app)
    register_jwt_errors(jwt)
    register_jwt_callbacks(jwt)
    register_security_headers(app)
