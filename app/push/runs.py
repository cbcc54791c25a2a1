"""Push runs: a rule's audience snapshotted as one bitmap, which is itself the inbox delivery.

A run evaluates the rule's audience on the audience index and takes out, each counted by
reason in `skipped`, the people who muted the rule's category (`optout:<category>`) and those
a frequency cap holds back (`app.push.caps`). What is left is serialized as the run's
recipients: a person is in a bitmap once, so nobody gets a run's message twice, whatever
retries do. The work is set algebra on compressed bitmaps, never a step per person.

The inbox is silent, so quiet hours, WeChat consent and WeChat opt-out skip nobody here; their
keys stay in `skipped` (at 0) for the WeChat channel.

An event run concerns one person and one event (`event_key`): the unique (rule, event_key)
makes it once per event, however often the event is handled.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from pyroaring import BitMap
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.push import SKIP_REASONS, PushRule, PushRun
from app.platform.events import emit
from app.platform.orm import utcnow
from app.push import caps
from app.push.evaluation import TagSource, evaluate
from app.push.expressions import normalize
from app.push.index import audience_index

log = logging.getLogger(__name__)

OPTOUT_PREFIX = "optout:"


@dataclass(frozen=True)
class Selection:
    """Who a rule's audience reaches now, and who of them muted its category."""

    targeted: int  # the audience's size, as a preview shows it
    eligible: BitMap  # the audience without the muted: a bitmap of its own, safe to keep
    muted: int
    seq: int  # the change-log position the index stood at


class OnePerson:
    """A tag source that sees one person only: an event run asks whether that person is in
    the audience without evaluating the audience for everyone."""

    def __init__(self, source: TagSource, user_id: int) -> None:
        self._source = source
        self._only = BitMap([user_id])

    def tag_names(self) -> Iterable[str]:
        return self._source.tag_names()

    def bitmap(self, tag: str) -> BitMap:
        return self._source.bitmap(tag) & self._only

    def universe(self) -> BitMap:
        return self._source.universe() & self._only


def select_audience(rule: PushRule, source: TagSource, only_user: int | None = None) -> Selection:
    """The rule's audience on `source` (narrowed to `only_user` when given), minus the muted.

    Everything is computed while the caller holds the source still: the index's own bitmaps
    move once it is let go, and the selection keeps none of them."""
    expr, _ = normalize(rule.audience)
    scope = source if only_user is None else OnePerson(source, only_user)
    members = evaluate(expr, scope)
    muted = members & source.bitmap(OPTOUT_PREFIX + rule.category)
    eligible = members - muted
    return Selection(len(members), eligible, len(muted), getattr(source, "seq", 0))


def start_run(rule: PushRule, *, trigger: str, event_key: str | None = None,
              only_user: int | None = None, source: TagSource | None = None,
              now: datetime | None = None) -> PushRun | None:
    """Snapshot the rule's audience as a finished inbox run.

    None when the rule already ran for `event_key`, or when an event run's person is not in the
    audience (nothing concerns them, nothing is recorded). `source` replaces the audience index
    (a caller whose tags are not committed yet, or a test)."""
    if event_key is not None and _ran_for(rule.id, event_key):
        return None
    now = now or utcnow()
    if source is None:
        with audience_index().reading() as view:
            selection = select_audience(rule, view, only_user)
    else:
        selection = select_audience(rule, source, only_user)
    if only_user is not None and selection.targeted == 0:
        return None
    held_back = caps.capped(rule, trigger=trigger, now=now,
                            candidates=selection.eligible if only_user is not None else None)
    capped = selection.eligible & held_back
    recipients = selection.eligible - capped
    recipients.run_optimize()
    skipped = dict.fromkeys(SKIP_REASONS, 0)
    skipped.update(muted=selection.muted, capped=len(capped))
    run = PushRun(rule_id=rule.id, trigger=trigger, event_key=event_key, status="done",
                  title=rule.title, body=rule.body, category=rule.category,
                  recipients=recipients.serialize(), index_seq=selection.seq,
                  targeted=selection.targeted, delivered=len(recipients), skipped=skipped,
                  started_at=now, finished_at=now)
    try:
        # (rule_id, event_key) is unique: of two workers handling one event, the second
        # fails here, and only its savepoint is rolled back.
        with db.session.begin_nested():
            db.session.add(run)
    except IntegrityError:
        return None
    log.info("push run %s of rule %s (%s): %d targeted, %d delivered", run.id, rule.id,
             trigger, run.targeted, run.delivered)
    if "wechat" in (rule.channels or []) and run.delivered:
        # The inbox has it already; the WeChat channel sends once this commits.
        emit("push.run_created", run_id=run.id)
    return run


def _ran_for(rule_id: int, event_key: str) -> bool:
    return db.session.scalar(sa.select(PushRun.id).where(
        PushRun.rule_id == rule_id, PushRun.event_key == event_key)) is not None


def recipients_of(run: PushRun) -> BitMap:
    """The people a run's message went to."""
    return BitMap.deserialize(run.recipients)


def stop_rule_runs(rule_id: int, now: datetime | None = None) -> int:
    """The kill switch: every run of the rule is stopped, and its message leaves the inboxes
    that hold it. Idempotent; the number of runs stopped now."""
    stopped = db.session.execute(
        sa.update(PushRun).where(PushRun.rule_id == rule_id, PushRun.status != "stopped")
        .values(status="stopped", stopped_at=now or utcnow())
        .execution_options(synchronize_session="fetch")).rowcount
    if stopped:
        log.info("push rule %s stopped: %d runs withdrawn", rule_id, stopped)
    return stopped or 0
