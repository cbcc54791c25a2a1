"""Scheduled work on tags and the audience index (expiries, the day's computed changes, the
shared snapshot, the change log's upkeep) and on push rules (due runs, tag gains, expiring
certificates)."""

from __future__ import annotations

import logging

from app.extensions import celery, db
from app.push import computed, memberships, scheduling, triggers
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


@celery.task(name="push.run_due")
def run_due_task() -> int:
    """Scheduled rules whose time has come run (each in a transaction of its own)."""
    return scheduling.run_due()


@celery.task(name="push.follow_tag_gains")
def follow_tag_gains_task() -> int:
    """Tag-gained rules reach who started carrying their tags within seconds."""
    return triggers.follow_tag_gains()


@celery.task(name="push.certificate_expiring")
def certificate_expiring_task() -> int:
    """Certificate-expiring rules reach the holders of certificates due N days from today."""
    made = triggers.remind_expiring_certificates()
    log.info("certificate expiry reminders: %d runs", made)
    return made
