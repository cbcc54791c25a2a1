"""Checks that the backing services answer, for `/readyz` and for operators."""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
import sqlalchemy as sa
import sqlalchemy.exc

from app.extensions import db, redis_store

log = logging.getLogger(__name__)

# What a database or Redis that is down or unreachable raises.
BACKING_SERVICE_ERRORS = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    redis.ConnectionError,
    redis.TimeoutError,
)


def _timed(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        check()
    except Exception as exc:  # whatever the cause (a refused login too), the probe keeps its shape
        log.warning("readiness check failed: %s", type(exc).__name__)
        return {"status": "unavailable", "error": type(exc).__name__}
    return {"status": "ok", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def check_services() -> dict[str, dict[str, Any]]:
    """Ping the database and Redis; each answers `{"status": "ok"|"unavailable", ...}`."""

    def database() -> None:
        try:
            db.session.execute(sa.text("SELECT 1"))
        finally:
            db.session.rollback()

    return {"database": _timed(database), "redis": _timed(redis_store.client.ping)}
