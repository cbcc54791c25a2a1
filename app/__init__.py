"""The Flask application factory."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask.sessions import SessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import load_config

log = logging.getLogger(__name__)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: configuration, logging, extensions, the HTTP API and its errors, CLI."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(load_config(app.instance_path, overrides=config))
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  (Chinese stays readable)
    # Callers authenticate with bearer tokens; a cookie session would only cost time.
    app.session_interface = NullSessionInterface()
    register_logging(app)
    register_extensions(app)
    register_api(app)
    register_commands(app)
    announce_mode(app)
    register_signing_keys(app)
    return app


class NullSessionInterface(SessionInterface):
    """No cookie session: nothing to open, sign or save on each request."""

    def open_session(self, app: Flask, request: object) -> None:
        return None  # Flask then hands views a NullSession

    def save_session(self, app: Flask, session: object, response: object) -> None:
        return None


def register_logging(app: Flask) -> None:
    from app.api.request_log import register_request_hooks
    from app.platform.log_format import configure_logging

    configure_logging(app)
    register_request_hooks(app)


def register_extensions(app: Flask) -> None:
    from app import models  # noqa: F401  (every model registered before migrations look)
    from app.certificates.signing import signing_keys
    from app.extensions import db, jwt, migrate, redis_store
    from app.identity.partner_signing import department_keys
    from app.platform.tasks import init_celery
    from app.platform.working_days import working_calendar
    from app.privacy.vault import vault
    from app.wechat import wechat_client

    db.init_app(app)
    migrate.init_app(app, db, directory=str(_migrations_dir()), compare_type=True,
                     render_as_batch=True)
    jwt.init_app(app)
    redis_store.init_app(app)
    for service in (vault, wechat_client, department_keys, signing_keys, working_calendar):
        service.init_app(app)
    init_celery(app)
    from app.cases import tasks as case_tasks  # noqa: F401  (registers the cases' tasks)
    from app.push import computed, triggers, wechat_delivery
    from app.push import tasks as push_tasks  # noqa: F401  (registers the push tasks)

    computed.register_subscribers()
    triggers.register_subscribers()  # after the tags': a case's new tags come first
    wechat_delivery.init_app(app)  # the WeChat channel's client, tasks and subscriptions

    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_api(app: Flask) -> None:
    from app import api

    api.init_app(app)


def register_commands(app: Flask) -> None:
    from app.cli import register_commands as register

    register(app)


def register_signing_keys(app: Flask) -> None:
    """Record this host's presentation-signing keys, so that every host can verify them."""
    from app.certificates.signing import register_keys_at_start

    register_keys_at_start(app)


def announce_mode(app: Flask) -> None:
    """Say loudly at start-up when the embedded development defaults are in use."""
    if app.config["EMBEDDED"] and not app.testing:
        log.warning(
            "DEVELOPMENT MODE: SQLite in %s, in-process Redis, Celery tasks run eagerly, "
            "generated secrets. Not for production: set DATABASE_URL, REDIS_URL and the secrets.",
            app.instance_path)
        log.warning("demo admin accounts 'admin' and 'approver' use password %r",
                    app.config["DEMO_ADMIN_PASSWORD"])


def _migrations_dir() -> Any:
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"
