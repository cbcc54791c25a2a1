"""Scheduled work on cases: marking those past their due time overdue."""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa

from app.cases.lifecycle import mark_overdue
from app.extensions import celery, db
from app.models.case import OPEN_STATUSES, Case
from app.platform.orm import utcnow

log = logging.getLogger(__name__)
BATCH_SIZE = 500


def mark_overdue_cases(now: datetime | None = None) -> int:
    """Mark every open case past its due time (its clock running) overdue, emitting
    `case.overdue` once per case; committed in batches. The number marked."""
    now = now or utcnow()
    marked = 0
    while True:
        # (status, due_at) is indexed: each open status is one range read of its late cases.
        cases = list(db.session.scalars(
            sa.select(Case).where(Case.status.in_(OPEN_STATUSES), Case.due_at < now,
                                  Case.overdue_at.is_(None), Case.paused_at.is_(None),
                                  Case.kind == "item")
            .order_by(Case.id).limit(BATCH_SIZE).with_for_update(skip_locked=True)))
        if not cases:
            return marked
        for case in cases:
            mark_overdue(case, now)
        db.session.commit()
        marked += len(cases)
        log.info("marked %d cases overdue", len(cases))


@celery.task(name="cases.mark_overdue")
def mark_overdue_task() -> int:
    return mark_overdue_cases()
