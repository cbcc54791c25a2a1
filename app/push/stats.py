"""What a push rule achieved: its runs' counts summed, what people did with the messages, and
how many of those who clicked applied for the rule's service within a week.

Inbox runs are delivered as they are made, so nothing is `sent`, `failed` or `unknown` (those
count WeChat sends) and no run is in flight; the keys are there for the WeChat channel.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.extensions import db
from app.models.case import Case
from app.models.push import SKIP_REASONS, PushMessageState, PushRule, PushRun
from app.push.wechat_delivery import wechat_counts

APPLIED_WITHIN_DAYS = 7


class PlusDays(FunctionElement[Any]):
    """`moment + N days` in SQL, for a column compared with another column."""

    type = sa.DateTime()
    name = "plus_days"
    inherit_cache = True


@compiles(PlusDays)
def _plus_days(element: PlusDays, compiler: Any, **kw: Any) -> str:
    moment, days = list(element.clauses)
    return (f"DATE_ADD({compiler.process(moment, **kw)}, "
            f"INTERVAL {compiler.process(days, **kw)} DAY)")


@compiles(PlusDays, "sqlite")
def _plus_days_sqlite(element: PlusDays, compiler: Any, **kw: Any) -> str:
    moment, days = list(element.clauses)
    # The format SQLAlchemy stores SQLite datetimes in, so the two compare as text.
    return (f"strftime('%Y-%m-%d %H:%M:%f', {compiler.process(moment, **kw)}, "
            f"'+' || {compiler.process(days, **kw)} || ' days')")


def run_stats(rule_id: int) -> dict[str, Any]:
    """The rule's runs summed: targeted, skipped by reason, delivered (and the channel counts),
    read, clicked, applied_within_7d, and the progress of a run still delivering (or None)."""
    skipped = dict.fromkeys(SKIP_REASONS, 0)
    runs = targeted = delivered = stopped = 0
    in_flight: PushRun | None = None
    for run in db.session.execute(
            sa.select(PushRun.id, PushRun.status, PushRun.targeted, PushRun.delivered,
                      PushRun.skipped, PushRun.started_at)
            .where(PushRun.rule_id == rule_id).order_by(PushRun.id)):
        runs += 1
        targeted += run.targeted
        delivered += run.delivered
        stopped += run.status == "stopped"
        for reason, count in (run.skipped or {}).items():
            if reason in skipped:
                skipped[reason] += int(count)
        if run.status == "delivering":
            in_flight = run
    read, clicked = db.session.execute(
        sa.select(sa.func.count(PushMessageState.read_at),
                  sa.func.count(PushMessageState.clicked_at))
        .join(PushRun, PushRun.id == PushMessageState.run_id)
        .where(PushRun.rule_id == rule_id)).one()
    wechat = wechat_counts(rule_id)
    for reason, count in wechat["skipped"].items():
        skipped[reason] += count  # decided at send time, among the inbox's recipients
    return {
        "runs": runs, "stopped_runs": stopped, "targeted": targeted, "skipped": skipped,
        "sent": wechat["sent"], "delivered": delivered, "failed": wechat["failed"],
        "unknown": wechat["unknown"],
        "wechat": {"delivered": wechat["delivered"], "in_flight": wechat["in_flight"]},
        "read": read or 0, "clicked": clicked or 0,
        "applied_within_7d": applied_after_click(rule_id),
        "progress": None if in_flight is None else {
            "run_id": str(in_flight.id), "targeted": in_flight.targeted,
            "delivered": in_flight.delivered, "started_at": in_flight.started_at},
    }


def applied_after_click(rule_id: int, days: int = APPLIED_WITHIN_DAYS) -> int:
    """People who clicked one of the rule's messages and then applied for its target (a
    service or bundle code) within `days` of that click."""
    target = db.session.scalar(sa.select(PushRule.target_code).where(PushRule.id == rule_id))
    if not target:
        return 0
    return db.session.scalar(
        sa.select(sa.func.count(sa.distinct(PushMessageState.user_id)))
        .join(PushRun, PushRun.id == PushMessageState.run_id)
        .join(Case, sa.and_(Case.applicant_user_id == PushMessageState.user_id,
                            Case.service_code == target,
                            Case.submitted_at >= PushMessageState.clicked_at,
                            Case.submitted_at < PlusDays(PushMessageState.clicked_at,
                                                          sa.literal(days))))
        .where(PushRun.rule_id == rule_id, PushMessageState.clicked_at.is_not(None))) or 0
