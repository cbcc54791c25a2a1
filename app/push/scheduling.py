"""When scheduled rules run: a `once` rule at its time (or as soon as it is approved), a `cron`
rule at each time its expression names in China time, none past its `ends_at`.

Beat asks every 30 seconds for the due rules; approval asks at once for the one approved. Two
workers may ask at the same moment, so a due rule is taken under a row lock that the other
skips, and its `next_run_at` is moved on in the same transaction as the run is made: whoever
comes next finds it no longer due. A run that fails rolls the move back with it, and the rule
is tried again on the next tick.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from croniter import croniter

from app.extensions import db
from app.models.push import PushRule, PushRun
from app.platform.clock import CHINA_TZ
from app.platform.orm import utcnow
from app.push.runs import start_run

log = logging.getLogger(__name__)

SCHEDULED = ("once", "cron")
DUE_BATCH = 100  # rules taken per tick; the rest wait for the next one


def next_run_after(expression: str, after: datetime) -> datetime:
    """The first time after `after` that a cron expression names, read in China time (UTC)."""
    following = croniter(expression, after.astimezone(CHINA_TZ)).get_next(datetime)
    return following.astimezone(UTC)


def due_rule_ids(now: datetime) -> list[int]:
    return list(db.session.scalars(
        sa.select(PushRule.id).where(PushRule.status == "active",
                                     PushRule.schedule_type.in_(SCHEDULED),
                                     PushRule.next_run_at <= now)
        .order_by(PushRule.next_run_at).limit(DUE_BATCH)))


def run_if_due(rule_id: int, now: datetime | None = None) -> PushRun | None:
    """Run the rule if it is active and due, moving its schedule on first; None otherwise
    (not due, taken by another worker, or past its end, which finishes it)."""
    now = now or utcnow()
    rule = db.session.scalar(
        sa.select(PushRule).where(PushRule.id == rule_id, PushRule.status == "active",
                                  PushRule.schedule_type.in_(SCHEDULED),
                                  PushRule.next_run_at <= now)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True))
    if rule is None:
        return None
    if rule.ends_at is not None and rule.ends_at <= now:
        rule.status, rule.next_run_at = "finished", None
        return None
    following = next_run_after(rule.cron, now) if rule.schedule_type == "cron" and rule.cron \
        else None
    if following is None or (rule.ends_at is not None and following >= rule.ends_at):
        rule.status, rule.next_run_at = "finished", None
    else:
        rule.next_run_at = following
    db.session.flush()  # the move is written (and the row held) before the run is made
    return start_run(rule, trigger=rule.schedule_type, now=now)


def run_due(now: datetime | None = None) -> int:
    """Run every due scheduled rule, one transaction each; the number of runs made."""
    now = now or utcnow()
    made = 0
    for rule_id in due_rule_ids(now):
        try:
            made += run_if_due(rule_id, now) is not None
            db.session.commit()
        except Exception:
            # One broken rule must not hold the others back; it is tried again next tick.
            db.session.rollback()
            log.exception("push rule %s could not run; tried again on the next tick", rule_id)
    return made
