"""The catalog version: moved by every edit, read by every cached catalog answer.

The database holds the counter; Redis holds a short-lived copy so hot reads need no query.
After an edit commits, the copy is deleted, so the next read anywhere sees the new version.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import g

from app.extensions import db, redis_store
from app.models import CatalogVersion
from app.platform.local_views import LocalView
from app.platform.orm import utcnow

log = logging.getLogger(__name__)

VERSION_KEY = "catalog:version"
# Bounds how long a reader racing an edit can re-cache the old version.
VERSION_TTL_SECONDS = 30
# Each worker trusts the version it read for this long before asking Redis again; an edit
# therefore shows within a second on other workers, and at once on the one that made it.
LOCAL_VERSION_SECONDS = 1.0
_MEMO = "catalog_version"  # on flask.g: one read per request (per task in Celery)


def version_from_database() -> int:
    row = db.session.get(CatalogVersion, 1)
    return row.version if row else 0


def remember_version(version: int) -> None:
    redis_store.attempt(lambda r: r.set(VERSION_KEY, version, ex=VERSION_TTL_SECONDS), None)


def current_version() -> int:
    """The catalog version now: from Redis when it has it, else from the database; read once
    per request however many parts of the answer ask."""
    version = g.get(_MEMO)
    if version is None:
        version = _local_version.get()
        note_version(version)
    return version


def note_version(version: int) -> None:
    """Remember a version read some other way (inside a pipeline) for the rest of the request."""
    setattr(g, _MEMO, version)


def _fetch_version(_: object = None) -> int:
    cached = redis_store.attempt(lambda r: r.get(VERSION_KEY), None)
    if cached is not None:
        return int(cached)
    version = version_from_database()
    remember_version(version)
    return version


_local_version = LocalView(_fetch_version, max_age_seconds=LOCAL_VERSION_SECONDS)


def bump_version() -> None:
    """Move the counter inside the current transaction; call `publish_version` after commit."""
    updated = db.session.execute(
        sa.update(CatalogVersion).where(CatalogVersion.id == 1)
        .values(version=CatalogVersion.version + 1, changed_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if not updated:
        db.session.add(CatalogVersion(id=1, version=2))


def publish_version() -> None:
    """After commit: drop the cached version so every worker reads the new one."""
    g.pop(_MEMO, None)
    _local_version.clear()
    # Not reaching Redis here does not fail the edit, which the database already holds:
    # workers without Redis read the database each second, and a worker that still reads a
    # copy cached before the outage sees the edit within VERSION_TTL_SECONDS.
    if not redis_store.attempt(lambda r: r.delete(VERSION_KEY) >= 0, False):
        log.warning("new catalog version not announced through redis: other workers may "
                    "serve the old one for up to %s s", VERSION_TTL_SECONDS)
