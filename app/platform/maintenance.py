"""Housekeeping tasks that belong to no single capability."""

from __future__ import annotations

import platform

import sqlalchemy as sa
from flask import current_app

from app.extensions import celery, db
from app.platform import retention


@celery.task(name="system.ping")
def ping(token: str) -> dict[str, str]:
    """Answer from inside the app: proves a worker is up, bound to the app and its database."""
    database = db.session.scalar(sa.text("SELECT 'ok'"))
    return {"token": token, "database": database, "app": current_app.name,
            "host": platform.node()}


@celery.task(name="maintenance.purge_expired")
def purge_expired() -> dict[str, int]:
    """Delete what is past its retention (daily, on beat); rows deleted per kind."""
    return retention.purge_expired(current_app.config)
