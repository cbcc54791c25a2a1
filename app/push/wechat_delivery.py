"""The WeChat channel of push: a run's recipients fanned out in chunks to Celery workers, sends
that wait (quiet hours, a busy WeChat) picked up when due, and the channel's counts.

`push.run_created` queues `push.deliver_wechat` for a run whose rule has the "wechat" channel;
it splits the run's recipients by rank into chunks of CHUNK_SIZE, each a task
`push.deliver_wechat_chunk(run_id, start, end)` any worker can take. The kill switch is looked
at before each chunk and every CHECK_EVERY people: a stopped run or rule sends nothing more;
a paused rule stops its chunks, and resuming it queues its runs again (whoever was handled
already is skipped by their send's row). Every minute `push.send_deferred` sends what waited
for quiet hours to end (and busy sends whose retry task was lost), and
`push.sweep_wechat_claims` marks claims whose worker died `unknown`. How one person's message
is decided and sent, at most once, is `wechat_sends`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from pyroaring import FrozenBitMap

from app.extensions import celery, db
from app.models import User
from app.models.push import PushRule, PushRun
from app.models.push_delivery import WAITING_STATUSES, PushSend
from app.models.tag import PushPreference
from app.platform.events import Event, subscribe
from app.platform.local_views import LocalView
from app.platform.orm import utcnow
from app.push import consent
from app.push.preferences import preferences_of
from app.push.wechat_content import content_for
from app.push.wechat_sends import (
    Person,
    Result,
    RunFacts,
    SendRate,
    Waiting,
    attempt,
    configured_rate,
    send_client,
    sweep,
)

log = logging.getLogger(__name__)

CHUNK_SIZE = 1000  # recipients per chunk task
CHECK_EVERY = 100  # people between two looks at the kill switch
DUE_BATCH = 1000  # waiting sends one pass of the minute's task takes
DUE_PASSES = 10
# A busy send's retry task has this long past its time before the minute's task takes over.
RETRY_GRACE = timedelta(minutes=5)
CHANNEL = "wechat"


def wants_wechat(rule: PushRule) -> bool:
    return CHANNEL in (rule.channels or []) and bool(rule.wechat_template_id)


def _load_recipients(run_id: int) -> FrozenBitMap:
    blob = db.session.scalar(sa.select(PushRun.recipients).where(PushRun.id == run_id))
    return FrozenBitMap.deserialize(blob) if blob else FrozenBitMap()


# The chunks of one run mostly go to the same workers: each reads the snapshot once.
_recipients = LocalView(_load_recipients)


def run_facts(run_id: int) -> RunFacts | None:
    """What sending the run needs; None when the run is gone or its rule has no WeChat."""
    run = db.session.get(PushRun, run_id)
    rule = db.session.get(PushRule, run.rule_id) if run is not None else None
    if run is None or rule is None or not wants_wechat(rule):
        return None
    return RunFacts(run.id, rule.id, run.category, rule.priority == "urgent",
                    content_for(run, rule))


def halted(run_id: int) -> str | None:
    """"stopped" when the run or its rule was stopped (or is gone), "paused" when its rule is
    paused, else None. Read in a transaction of its own, so a stop made since shows."""
    db.session.commit()
    found = db.session.execute(
        sa.select(PushRun.status, PushRule.status).join(PushRule, PushRule.id == PushRun.rule_id)
        .where(PushRun.id == run_id)).first()
    if found is None or "stopped" in found:
        return "stopped"
    return "paused" if found[1] == "paused" else None


def deliver_run(run_id: int) -> int:
    """Queue the run's chunks; how many (none for a run without WeChat, or halted)."""
    if run_facts(run_id) is None or halted(run_id):
        return 0
    total = len(_recipients.get(run_id))
    starts = range(0, total, CHUNK_SIZE)
    for start in starts:
        deliver_chunk_task.apply_async((run_id, start, min(start + CHUNK_SIZE, total)))
    log.info("wechat run %s: %d recipients in %d chunks", run_id, total, len(starts))
    return len(starts)


def people(user_ids: Sequence[int], template_id: str) -> dict[int, Person]:
    """The recipients as they are now: openid, preferences, whether consent is held."""
    users = db.session.scalars(sa.select(User).where(User.id.in_(user_ids))).all()
    # Loaded into the session: `preferences_of` finds those who set preferences without a
    # query of its own.
    db.session.scalars(sa.select(PushPreference).where(
        PushPreference.user_id.in_(user_ids))).all()
    holding = consent.holders(user_ids, template_id)
    return {user.id: Person(user.id, user.openid, preferences_of(user), user.id in holding)
            for user in users}


def deliver_chunk(run_id: int, start: int, end: int, *, now: datetime | None = None,
                  rate: SendRate | None = None,
                  sleep: Callable[[float], None] = time.sleep) -> Counter[str]:
    """Decide and send for the recipients ranked [start, end) in the run; the statuses left.
    `now` (default: the moment of each send) is the time quiet hours are judged at."""
    facts = run_facts(run_id)
    done: Counter[str] = Counter()
    if facts is None:
        return done
    rate = rate or configured_rate()
    members = list(_recipients.get(run_id)[start:end])
    for first in range(0, len(members), CHECK_EVERY):
        reason = halted(run_id)
        if reason:
            log.info("wechat run %s %s: chunk [%d, %d) ends at %d", run_id, reason, start, end,
                     start + first)
            done[reason] += 1
            break
        ids = members[first:first + CHECK_EVERY]
        handled = set(db.session.scalars(sa.select(PushSend.user_id).where(
            PushSend.run_id == run_id, PushSend.user_id.in_(ids))))
        found = people([i for i in ids if i not in handled], facts.content.template_id)
        for person in found.values():
            result = attempt(facts, person, None, now=now, rate=rate, sleep=sleep)
            done[_followed_up(result)] += 1
    db.session.commit()
    return done


def _followed_up(result: Result) -> str:
    """Queue the retry of a send WeChat was too busy for; the result's status."""
    if result.status == "busy" and result.send_id is not None:
        retry_send_task.apply_async((result.send_id,), countdown=result.retry_in)
    return result.status


def send_waiting_of_run(run_id: int, rows: Sequence[Waiting], *, now: datetime | None = None,
                        sleep: Callable[[float], None] = time.sleep) -> Counter[str]:
    """Decide again, and send, the run's waiting sends `rows`; the statuses left."""
    done: Counter[str] = Counter()
    facts = run_facts(run_id)
    rate = configured_rate()
    for first in range(0, len(rows), CHECK_EVERY):
        batch = rows[first:first + CHECK_EVERY]
        reason = "stopped" if facts is None else halted(run_id)
        if reason == "paused":
            break
        if reason == "stopped" or facts is None:
            for held in batch:
                done["stopped" if settle_stopped(held) else ""] += 1
            continue
        found = people([held.user_id for held in batch], facts.content.template_id)
        for held in batch:
            if held.user_id in found:
                result = attempt(facts, found[held.user_id], held, now=now, rate=rate,
                                 sleep=sleep)
                done[_followed_up(result)] += 1
    db.session.commit()
    return done


def _held(row: PushSend) -> Waiting:
    return Waiting(row.id, row.user_id, row.status, row.attempts)


def settle_stopped(held: Waiting) -> bool:
    """The kill switch withdraws a waiting send."""
    moved = db.session.execute(
        sa.update(PushSend).where(PushSend.id == held.id, PushSend.status == held.status)
        .values(status="stopped").execution_options(synchronize_session=False)).rowcount == 1
    db.session.commit()
    return moved


def send_due(now: datetime | None = None, *,
             sleep: Callable[[float], None] = time.sleep) -> int:
    """Send what waited and is due now: deferred sends whose quiet hours ended, busy ones
    whose retry task is long overdue. Rules that are paused wait on. The number handled."""
    now = now or utcnow()
    due = sa.or_(sa.and_(PushSend.status == "deferred", PushSend.not_before <= now),
                 sa.and_(PushSend.status == "busy", PushSend.not_before <= now - RETRY_GRACE))
    handled = 0
    for _ in range(DUE_PASSES):
        rows = db.session.execute(
            sa.select(PushSend.run_id, PushSend.id, PushSend.user_id, PushSend.status,
                      PushSend.attempts)
            .join(PushRun, PushRun.id == PushSend.run_id)
            .join(PushRule, PushRule.id == PushRun.rule_id)
            .where(due, PushRule.status != "paused")
            .order_by(PushSend.not_before, PushSend.id).limit(DUE_BATCH)).all()
        by_run: dict[int, list[Waiting]] = {}
        for run_id, *held in rows:
            by_run.setdefault(run_id, []).append(Waiting(*held))
        for run_id, waiting in by_run.items():
            handled += sum(send_waiting_of_run(run_id, waiting, now=now,
                                               sleep=sleep).values())
        if len(rows) < DUE_BATCH:
            break
    return handled


def retry_send(send_id: int) -> Result:
    """Try a busy send again (its retry task); what became of it."""
    row = db.session.get(PushSend, send_id)
    if row is None or row.status != "busy":
        return Result(row.status if row is not None else "")
    run_id, held = row.run_id, _held(row)
    facts = run_facts(run_id)
    reason = "stopped" if facts is None else halted(run_id)
    if reason == "stopped" or facts is None:
        return Result("stopped" if settle_stopped(held) else "")
    if reason == "paused":
        return Result("paused")  # taken up by the minute's task once the rule resumes
    person = people([held.user_id], facts.content.template_id).get(held.user_id)
    if person is None:
        return Result("")
    return attempt(facts, person, held)


def withdraw_waiting(rule_id: int) -> int:
    """The kill switch: the rule's waiting sends are never sent."""
    runs = sa.select(PushRun.id).where(PushRun.rule_id == rule_id).scalar_subquery()
    return db.session.execute(
        sa.update(PushSend).where(PushSend.run_id.in_(runs),
                                  PushSend.status.in_(WAITING_STATUSES))
        .values(status="stopped").execution_options(synchronize_session=False)).rowcount or 0


def wechat_counts(rule_id: int) -> dict[str, Any]:
    """The rule's WeChat sends over all its runs: sent (WeChat took them), delivered (with
    WeChat's msgid), failed, unknown, in_flight (claimed or waiting to retry), and skipped by
    reason (quiet_hours: deferred and not sent yet; muted, opted_out, no_consent at send time)."""
    by_status: Counter[str] = Counter()
    with_msgid = 0
    for status, count, msgids in db.session.execute(
            sa.select(PushSend.status, sa.func.count(), sa.func.count(PushSend.msgid))
            .join(PushRun, PushRun.id == PushSend.run_id)
            .where(PushRun.rule_id == rule_id).group_by(PushSend.status)):
        by_status[status] = count
        with_msgid += msgids if status == "sent" else 0
    return {
        "sent": by_status["sent"], "delivered": with_msgid, "failed": by_status["failed"],
        "unknown": by_status["unknown"], "in_flight": by_status["claimed"] + by_status["busy"],
        "skipped": {"quiet_hours": by_status["deferred"], "muted": by_status["muted"],
                    "opted_out": by_status["opted_out"],
                    "no_consent": by_status["no_consent"]},
    }


# -- events ------------------------------------------------------------------------------------

def on_run_created(event: Event) -> None:
    """A new run of a rule with the WeChat channel is fanned out (again, harmlessly, when
    the event is handled twice: each person's send has one row)."""
    run_id = event.payload.get("run_id")
    rule = db.session.scalar(sa.select(PushRule).join(PushRun, PushRun.rule_id == PushRule.id)
                             .where(PushRun.id == run_id))
    if rule is not None and wants_wechat(rule):
        # Not the optional queueing: a broker that cannot take it fails the handler, and the
        # event's sweep hands it over again.
        deliver_run_task.apply_async((run_id,))


def on_rule_resumed(event: Event) -> None:
    """A resumed rule's runs of the inbox's days go on where their chunks stopped."""
    rule = db.session.get(PushRule, event.payload["rule_id"])
    if rule is None or not wants_wechat(rule):
        return
    since = utcnow() - timedelta(days=int(current_app.config["INBOX_DAYS"]))
    for run_id in db.session.scalars(sa.select(PushRun.id).where(
            PushRun.rule_id == rule.id, PushRun.status != "stopped",
            PushRun.started_at >= since)):
        deliver_run_task.apply_async((run_id,))


def on_rule_stopped(event: Event) -> None:
    withdrawn = withdraw_waiting(event.payload["rule_id"])
    if withdrawn:
        log.info("push rule %s stopped: %d waiting WeChat sends withdrawn",
                 event.payload["rule_id"], withdrawn)


def register_subscribers() -> None:
    subscribe("push.run_created", on_run_created)
    subscribe("push.rule_resumed", on_rule_resumed)
    subscribe("push.rule_stopped", on_rule_stopped)


def init_app(app: Flask) -> None:
    """The channel's WeChat client and its event subscriptions (importing registered the
    tasks)."""
    send_client.init_app(app)
    register_subscribers()


# -- tasks -------------------------------------------------------------------------------------

@celery.task(name="push.deliver_wechat")
def deliver_run_task(run_id: int) -> int:
    return deliver_run(run_id)


@celery.task(name="push.deliver_wechat_chunk")
def deliver_chunk_task(run_id: int, start: int, end: int) -> dict[str, int]:
    return dict(deliver_chunk(run_id, start, end))


@celery.task(name="push.retry_wechat_send")
def retry_send_task(send_id: int) -> str:
    """Send again what WeChat was busy for, later each time (the send counts its attempts),
    until it is sent or failed."""
    return _followed_up(retry_send(send_id))


@celery.task(name="push.send_deferred")
def send_deferred_task() -> int:
    return send_due()


@celery.task(name="push.sweep_wechat_claims")
def sweep_claims_task() -> int:
    return sweep()
