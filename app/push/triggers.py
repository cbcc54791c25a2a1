"""What starts and stops push runs besides the clock: domain events and the facts rules watch.

An event rule (`schedule_type` "event") tells one person about something of theirs, in a run
of its own keyed by the event (`event_key`), so each event reaches them once however often it
is handled:

- `case_moved` (case.moved, and case.finished, which is the same move): the applicant, key
  `case:<id>:<status>`; `event_params.status`, when given, must be the status reached;
- `case_overdue` (case.overdue): the applicant, key `case:<id>:overdue`;
- `certificate_expiring` (`event_params.days` N, optional `type`, a certificate type code): a
  daily task finds the personal certificates expiring on the China day N days ahead (and the
  day before, should a day's task have been missed) and tells their holders, key
  `cert:<certificate id>:<N>`;
- `tag_gained` (`event_params.tag`, a tag pattern): a task every few seconds follows the tag
  change log and tells each person who started to carry a covered tag after the rule was
  approved, key `tag:<seq>`. Its position in the log is kept in the process and in Redis (so
  a new process starts where the others are); with neither, the log is read again from the
  earliest approval, and the keys keep each gain to one run.

The person must still be in the rule's audience when the run is made. Approval and the kill
switch arrive as events too: `push.rule_approved` (and `push.rule_resumed`) run a due rule at
once, `push.rule_stopped` withdraws the rule's runs.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.extensions import db, redis_store
from app.models import Certificate, User
from app.models.certificate import CertificateType
from app.models.push import PushRule, PushRun
from app.models.tag import TagChange
from app.platform.clock import CHINA_TZ, today_in_china
from app.platform.events import Event, subscribe
from app.platform.local_views import local_state
from app.platform.orm import utcnow
from app.push.expressions import ANY_TAG, covers
from app.push.runs import start_run, stop_rule_runs
from app.push.scheduling import run_if_due

TAG_CURSOR_KEY = "push:tag_gained:seq"
TAG_BATCH = 1000  # log lines read per pass
TAG_PASSES = 10  # passes per task: a backlog is worked off over several ticks
# A change logged (numbered) before a later one may commit after it: the last minute is read
# again, as the audience index does with the gaps it sees.
LATE_COMMIT = timedelta(seconds=60)
EXPIRING_DEFAULT_DAYS = 30


def active_event_rules(event: str, now: datetime | None = None) -> list[PushRule]:
    now = now or utcnow()
    return list(db.session.scalars(sa.select(PushRule).where(
        PushRule.status == "active", PushRule.schedule_type == "event", PushRule.event == event,
        sa.or_(PushRule.ends_at.is_(None), PushRule.ends_at > now)).order_by(PushRule.id)))


# -- cases -------------------------------------------------------------------------------------

def on_case_event(event: Event) -> int:
    """Tell the applicant of a moved, finished or overdue case; the number of runs made."""
    payload = event.payload
    user_id = payload.get("applicant_user_id")
    if not user_id:
        return 0
    if event.name == "case.overdue":
        kind, status = "case_overdue", "overdue"
    else:
        kind, status = "case_moved", payload["status"]
    made = 0
    for rule in active_event_rules(kind):
        wanted = (rule.event_params or {}).get("status")
        if kind == "case_moved" and wanted and wanted != status:
            continue
        made += start_run(rule, trigger="event", event_key=f"case:{payload['case_id']}:{status}",
                          only_user=user_id) is not None
    return made


# -- certificates ------------------------------------------------------------------------------

def _expiring_on(day: date, type_code: str | None) -> list[tuple[int, str]]:
    """(certificate id, holder's ID index) of valid personal certificates expiring on `day`."""
    start = datetime.combine(day, time(), CHINA_TZ)
    query = sa.select(Certificate.id, Certificate.holder_id_index).where(
        Certificate.expires_at >= start, Certificate.expires_at < start + timedelta(days=1),
        Certificate.status == "valid", Certificate.holder_id_index.is_not(None))
    if type_code:
        query = query.join(CertificateType).where(CertificateType.code == type_code)
    return [(row[0], row[1]) for row in db.session.execute(query)]


def remind_expiring_certificates(today: date | None = None) -> int:
    """Run each certificate-expiring rule for the holders whose certificates expire N days
    from today (or from yesterday, when that day's task did not run); the runs made."""
    today = today or today_in_china()
    made = 0
    for rule in active_event_rules("certificate_expiring"):
        params = rule.event_params or {}
        days = int(params.get("days", EXPIRING_DEFAULT_DAYS))
        found = [*_expiring_on(today + timedelta(days=days - 1), params.get("type")),
                 *_expiring_on(today + timedelta(days=days), params.get("type"))]
        holders = _users_by_id_index({index for _, index in found})
        for certificate_id, index in found:
            for user_id in holders.get(index, ()):
                made += start_run(rule, trigger="event", event_key=f"cert:{certificate_id}:{days}",
                                  only_user=user_id) is not None
        db.session.commit()
    return made


def _users_by_id_index(indexes: set[str]) -> dict[str, list[int]]:
    users: dict[str, list[int]] = {}
    ordered = sorted(indexes)
    for start in range(0, len(ordered), 500):
        for user_id, index in db.session.execute(sa.select(User.id, User.id_number_index).where(
                User.id_number_index.in_(ordered[start:start + 500]))):
            users.setdefault(index, []).append(user_id)
    return users


# -- tags --------------------------------------------------------------------------------------

def _stem(pattern: str) -> str:
    """What every tag the pattern covers starts with (for a first cut in SQL)."""
    return "" if pattern == ANY_TAG else pattern.removesuffix("*")


def _gains(condition: Any, patterns: list[str], limit: int | None = None) -> list[Any]:
    stems = {_stem(p) for p in patterns}
    query = sa.select(TagChange.seq, TagChange.tag, TagChange.user_id, TagChange.at).where(
        condition, TagChange.present.is_(True))
    if "" not in stems:
        query = query.where(sa.or_(*(TagChange.tag.startswith(s, autoescape=True)
                                     for s in sorted(stems))))
    query = query.order_by(TagChange.seq)
    return list(db.session.execute(query.limit(limit) if limit else query))


def follow_tag_gains(now: datetime | None = None) -> int:
    """Run the tag-gained rules for the people who started carrying their tags since the last
    pass; the number of runs made."""
    now = now or utcnow()
    rules = [r for r in active_event_rules("tag_gained", now)
             if (r.event_params or {}).get("tag") and r.approved_at is not None]
    top = db.session.scalar(sa.select(sa.func.max(TagChange.seq))) or 0
    if not rules:
        _save_cursor(top)
        return 0
    patterns = [r.event_params["tag"] for r in rules]
    cursor = _cursor()
    if cursor is None:
        earliest = min(r.approved_at for r in rules)
        first = db.session.scalar(sa.select(sa.func.min(TagChange.seq)).where(
            TagChange.at >= earliest))
        cursor = (first - 1) if first is not None else top
    made = _run_for_gains(rules, _gains(
        sa.and_(TagChange.seq <= cursor, TagChange.at >= now - LATE_COMMIT), patterns))
    for _ in range(TAG_PASSES):
        gains = _gains(sa.and_(TagChange.seq > cursor, TagChange.seq <= top), patterns,
                       TAG_BATCH)
        made += _run_for_gains(rules, gains)
        cursor = gains[-1].seq if len(gains) == TAG_BATCH else top
        db.session.commit()
        _save_cursor(cursor)
        if cursor >= top:
            break
    return made


def _run_for_gains(rules: list[PushRule], gains: list[Any]) -> int:
    made = 0
    for rule in rules:
        pattern = rule.event_params["tag"]
        mine = [g for g in gains if g.at >= rule.approved_at and covers(pattern, g.tag)]
        if not mine:
            continue
        keys = {f"tag:{g.seq}": g for g in mine}
        done = set(db.session.scalars(sa.select(PushRun.event_key).where(
            PushRun.rule_id == rule.id, PushRun.event_key.in_(list(keys)))))
        for key, gain in keys.items():
            if key not in done:
                made += start_run(rule, trigger="event", event_key=key,
                                  only_user=gain.user_id) is not None
    return made


def _cursor() -> int | None:
    """The furthest position this process or any other (through Redis) has reached."""
    shared = redis_store.attempt(lambda r: r.get(TAG_CURSOR_KEY), None)
    known = [int(seq) for seq in (shared, local_state(current_app).get(TAG_CURSOR_KEY))
             if seq is not None]
    return max(known) if known else None


def _save_cursor(seq: int) -> None:
    local_state(current_app)[TAG_CURSOR_KEY] = seq
    redis_store.attempt(lambda r: r.set(TAG_CURSOR_KEY, seq), None)


# -- the rule's lifecycle ----------------------------------------------------------------------

def on_rule_live(event: Event) -> None:
    """An approved or resumed rule that is due runs now, not at the next tick."""
    run_if_due(int(event.payload["rule_id"]))


def on_rule_stopped(event: Event) -> None:
    stop_rule_runs(int(event.payload["rule_id"]))


def register_subscribers() -> None:
    """Listen to the events push runs follow (after the tags', so a case's new tags are in the
    index when its applicant is matched against an audience)."""
    for name in ("case.moved", "case.finished", "case.overdue"):
        subscribe(name, on_case_event)
    for name in ("push.rule_approved", "push.rule_resumed"):
        subscribe(name, on_rule_live)
    subscribe("push.rule_stopped", on_rule_stopped)
