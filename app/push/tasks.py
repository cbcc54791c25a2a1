"""Scheduled work on tags and the audience index: expiries, the day's computed changes, the
shared snapshot, and the change log's upkeep."""

from __future__ import annotations

import logging

from app.extensions import celery, db
from app.push import computed, memberships
from app.push.index import audience_index, prune_log

log = logging.getLogger(__name__)


@celery.task(name="tags.expire")
def expire_memberships_task() -> int:
    """Memberships past their expiry leave the index within a minute."""
    total = 0
    while True:
        dropped = memberships.expire_due()
        db.session.commit()
        total += dropped
        if dropped < 10_000:
            return total


@celery.task(name="tags.daily")
def daily_tags_task() -> int:
    """Age bands and certificate expiry windows that today moves."""
    moved = computed.refresh_day()
    log.info("daily tags: %d people recomputed", moved)
    return moved


@celery.task(name="audience.snapshot")
def snapshot_task() -> int:
    """Write this worker's index to Redis, where new processes start from."""
    return audience_index().save_snapshot()


@celery.task(name="tags.prune_log")
def prune_log_task() -> int:
    return prune_log()
