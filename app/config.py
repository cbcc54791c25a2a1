"""Configuration: embedded development defaults, overridden from the environment by the same name.

With nothing set the app runs in *embedded* mode: a SQLite file and generated secrets in the
instance folder, an in-process Redis (fakeredis) and Celery tasks run eagerly. Setting
`DATABASE_URL` or `REDIS_URL` (or `APP_ENV=production`) switches to *production* mode, which
refuses to start unless every secret is given.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message names the setting, never its value."""


def _bool(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    doc: str
    parse: Callable[[str], Any] = str
    secret: bool = False  # required in production, generated in embedded mode


SETTINGS: tuple[Setting, ...] = (
    Setting("APP_ENV", "", "`production` forces production mode even without DATABASE_URL"),
    Setting("DATABASE_URL", "", "SQLAlchemy URL, e.g. `mysql+pymysql://user:pw@host/db?charset=utf8mb4`;"
            " empty: SQLite file in the instance folder"),
    Setting("REDIS_URL", "", "e.g. `redis://host:6379/0`; empty: in-process fakeredis"),
    Setting("CELERY_BROKER_URL", "", "broker for Celery; empty: `REDIS_URL`"),
    Setting("CELERY_ALWAYS_EAGER", None, "run tasks in process (default: on in embedded mode)",
            _bool),
    Setting("CELERY_VISIBILITY_TIMEOUT", 3600, "seconds before a Redis broker hands a task whose"
            " worker died to another worker; must exceed the longest task", int),
    Setting("SECRET_KEY", None, "Flask secret", secret=True),
    Setting("JWT_SECRET_KEY", None, "key that signs access and refresh tokens", secret=True),
    Setting("PERSONAL_DATA_KEYS", None, "AES-256 keys for personal data, `kid:base64,...`"
            " (first one encrypts)", secret=True),
    Setting("BLIND_INDEX_KEY", None, "HMAC key (base64) for look-ups of encrypted values",
            secret=True),
    Setting("WECHAT_API_BASE", "https://api.weixin.qq.com", "WeChat server API; `make run` points"
            " it at the stub"),
    Setting("WECHAT_APPID", "wx-demo-appid", "the mini program's AppID"),
    Setting("WECHAT_SECRET", "wx-demo-secret", "the mini program's AppSecret (the stub's demo one"
            " by default)", secret=True),
    Setting("WECHAT_TIMEOUT", 5.0, "seconds to wait for WeChat to answer", float),
    Setting("WECHAT_CALL_BUDGET", 8.0, "seconds one WeChat call may take with its retries: the"
            " longest a login waits for WeChat", float),
    Setting("WECHAT_BREAKER_FAILURES", 5, "failed WeChat attempts in a row after which a"
            " process stops calling it for a cool-down", int),
    Setting("WECHAT_BREAKER_COOL_DOWN", 30.0, "seconds a process stops calling WeChat before"
            " one trial call", float),
    Setting("WECHAT_LONG_TERM_TEMPLATES", "tpl-service-reminder", "subscribe-message template"
            " ids with long-term consent, separated by commas (the stub's one by default)"),
    Setting("WECHAT_SENDS_PER_SECOND", 1000, "subscribe messages all workers together send per"
            " second at most, under WeChat's daily quota", int),
    Setting("DEPARTMENT_KEYS", "demo-dept:ZGVtby1kZXBhcnRtZW50LWhtYWMta2V5LW5vdC1zZWNyZXQ=",
            "HMAC keys of department systems, `key_id:base64,...` (a demo key by default)",
            secret=True),
    Setting("SIGNING_KEY_PEM", "", "Ed25519 private key (PKCS8 PEM) that signs presentations;"
            " empty: the keys in SIGNING_KEY_DIR"),
    Setting("SIGNING_KEY_DIR", "", "folder of `*.pem` presentation-signing keys; empty:"
            " `instance/signing-keys` (generated on first run in embedded mode)"),
    Setting("PRESENTATION_ISSUER", "https://zhangshang-ban.invalid", "`iss` of presentation"
            " tokens"),
    Setting("DEMO_ADMIN_PASSWORD", "zsb-demo-2026", "password of the demo admin accounts"
            " created by `flask seed-demo`"),
    Setting("LOG_LEVEL", "INFO", "root log level"),
    Setting("LOG_FORMAT", "", "`json` or `text`; default: json in production, text in embedded"),
    Setting("DATABASE_POOL_SIZE", 10, "connections kept per process", int),
    Setting("DATABASE_CONNECT_TIMEOUT", 3, "seconds to wait for a database connection", int),
    Setting("DATABASE_READ_TIMEOUT", 25, "seconds to wait for the database to answer (MySQL);"
            " below the gunicorn timeout, so a stalled server gets a 503, not a killed worker",
            int),
    Setting("REDIS_TIMEOUT", 0.5, "seconds for a Redis connect or command", float),
    Setting("CACHE_TTL", 300, "seconds a cached read lives", int),
    Setting("TRUSTED_PROXIES", 0, "number of reverse proxies whose X-Forwarded-For to trust", int),
    Setting("MAX_CONTENT_LENGTH", 1_048_576, "largest request body in bytes", int),
    Setting("UPLOAD_MAX_BYTES", 10_485_760, "largest material file a user may upload, in bytes"
            " (only its route takes a body over MAX_CONTENT_LENGTH)", int),
    Setting("UPLOAD_DIR", "", "folder uploaded material files are kept in, outside the web"
            " root; empty: `instance/uploads`"),
    # Retention: days a row of each kind is kept before the daily purge deletes it; 0 keeps
    # it forever (app/platform/retention.py).
    Setting("RETENTION_ACCESS_LOG_DAYS", 180, "days certificate access-log entries are kept",
            int),
    Setting("RETENTION_PRESENTATIONS_DAYS", 7, "days a presentation's record (which certificate"
            " a token showed) is kept after the token expired", int),
    Setting("RETENTION_AUDIT_LOG_DAYS", 1095, "days audit-log entries are kept", int),
    Setting("RETENTION_UPLOADS_DAYS", 30, "days an uploaded material that joined no case is"
            " kept, its file with it", int),
    Setting("WORKING_CALENDAR_DAYS_OFF", "", "extra days off for time limits, ISO dates"
            " separated by commas (a local holiday, or next year's before its notice ships)"),
    Setting("WORKING_CALENDAR_MAKEUP_DAYS", "", "extra make-up working days (调休), ISO dates"
            " separated by commas"),
    Setting("RECTIFICATION_WORKING_DAYS", 5, "working days a department has to answer the"
            " rectification a bad rating (好差评 ≤ 2) opens, or an appeal reopens", int),
    # Declared now so operators can set it; its table arrives with push, and the purge covers
    # it from then on.
    Setting("RETENTION_INBOX_DAYS", 180, "days inbox messages are kept (with push)", int),
    Setting("RETENTION_BATCH_SIZE", 1000, "rows the purge deletes per transaction", int),
    Setting("INBOX_DAYS", 30, "days a push run's message stays in its recipients' inboxes",
            int),
    Setting("PUSH_DAILY_CAP", 3, "broadcast push messages one person receives per China day at"
            " most (urgent rules and event rules are not held back); 0: no cap", int),
)

SECRET_FILE = "dev-secrets.json"


def _embedded_secrets(instance_path: str) -> dict[str, str]:
    """Generate development secrets once and keep them in the instance folder.

    Kept on disk because the personal data in the SQLite file is encrypted with them.
    """
    path = Path(instance_path) / SECRET_FILE
    if path.exists():
        return json.loads(path.read_text())
    values = {
        "SECRET_KEY": secrets.token_urlsafe(32),
        "JWT_SECRET_KEY": secrets.token_urlsafe(32),
        "PERSONAL_DATA_KEYS": "dev1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "BLIND_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


def load_config(instance_path: str, environ: Mapping[str, str] | None = None,
                overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the app configuration: defaults, then the environment, then explicit overrides."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    values: dict[str, Any] = {}
    given: set[str] = set()
    for setting in SETTINGS:
        if setting.name in overrides:
            values[setting.name] = overrides.pop(setting.name)
            given.add(setting.name)
        elif environ.get(setting.name, "") != "":
            given.add(setting.name)
            try:
                values[setting.name] = setting.parse(environ[setting.name])
            except ValueError as exc:
                raise ConfigError(f"{setting.name} is not a valid value") from exc
        else:
            values[setting.name] = setting.default

    production = bool(values["DATABASE_URL"] or values["REDIS_URL"]
                      or values["APP_ENV"] == "production")
    values["EMBEDDED"] = not production
    # A secret's development default (or generated value) is never good enough for production.
    missing = [s.name for s in SETTINGS if s.secret and not (s.name in given and values[s.name])]
    if missing and production:
        raise ConfigError("production mode needs these settings: " + ", ".join(missing))
    generated = [name for name in missing if values[name] is None]
    if generated:
        secrets_file = _embedded_secrets(instance_path)
        for name in generated:
            values[name] = secrets_file[name]
    if production and not values["DATABASE_URL"]:
        raise ConfigError("production mode needs DATABASE_URL")
    if production and not (values["REDIS_URL"] or overrides.get("TESTING")):
        raise ConfigError("production mode needs REDIS_URL")

    database_url = values["DATABASE_URL"] or "sqlite:///" + str(
        Path(instance_path) / "zhangshang-ban.sqlite3")
    eager = values["CELERY_ALWAYS_EAGER"]
    values.update({
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url, values),
        "CELERY_ALWAYS_EAGER": (not production) if eager is None else eager,
        "LOG_FORMAT": values["LOG_FORMAT"] or ("text" if not production else "json"),
        "JWT_TOKEN_LOCATION": ["headers"],
        "API_TITLE": "掌上办 API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/v1/docs/assets/",
    })
    values.update(overrides)
    return values


def _engine_options(database_url: str, values: Mapping[str, Any]) -> dict[str, Any]:
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15}}
    return {
        "pool_pre_ping": True,
        "pool_recycle": 1800,
        "pool_size": values["DATABASE_POOL_SIZE"],
        "max_overflow": values["DATABASE_POOL_SIZE"],
        "pool_timeout": 5,
        "connect_args": {"connect_timeout": values["DATABASE_CONNECT_TIMEOUT"],
                         "read_timeout": values["DATABASE_READ_TIMEOUT"],
                         "write_timeout": values["DATABASE_READ_TIMEOUT"]},
    }
