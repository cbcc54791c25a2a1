"""Domain events: written with the change that caused them, handed to subscribers after commit.

`emit` adds a row to the outbox (`domain_events`) in the current transaction, so an event
exists exactly when its change does. After the commit, a task hands each new event to the
handlers subscribed to its name; a sweep on Celery beat picks up any event whose hand-over was
lost (a crashed worker, a broker outage). A handler may therefore see an event more than once
and must be idempotent by the event's id; what a handler does not finish is retried by the
next sweep, up to MAX_ATTEMPTS.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from app.extensions import celery, db
from app.models.event import DomainEvent
from app.platform.orm import utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
BATCH_SIZE = 200
# An event younger than this is left to the task its commit queued; the sweep takes the rest.
SWEEP_GRACE = timedelta(seconds=30)


@dataclass(frozen=True)
class Event:
    id: int
    name: str
    payload: dict[str, Any]
    created_at: datetime


Handler = Callable[[Event], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def subscribe(name: str, handler: Handler) -> None:
    """Have `handler` called with every event called `name` (once per process and handler)."""
    if handler not in _handlers[name]:
        _handlers[name].append(handler)


def unsubscribe(name: str, handler: Handler) -> None:
    if handler in _handlers[name]:
        _handlers[name].remove(handler)


def emit(name: str, **payload: Any) -> DomainEvent:
    """Record an event in the current transaction; it is dispatched once that commits."""
    event = DomainEvent(name=name, payload=payload)
    db.session.add(event)
    pending = db.session.info.setdefault("pending_events", [])
    pending.append(event)
    return event


def after_commit(session: Any) -> None:
    """Queue the dispatch of the events the committed transaction recorded."""
    pending = session.info.pop("pending_events", None)
    if not pending:
        return
    ids = [event.id for event in pending if event.id is not None]
    if ids:
        from app.platform.tasks import enqueue_optional

        # Lost here (no broker), the events wait for the sweep: nothing is lost, only late.
        enqueue_optional(dispatch_events_task, ids)


def after_rollback(session: Any, previous_transaction: Any) -> None:
    """A rolled back transaction's events never happened. A savepoint's rollback keeps the list:
    an event it undid no longer has a row, and dispatch skips ids it cannot find."""
    if not previous_transaction.nested:
        session.info.pop("pending_events", None)


def dispatch(ids: list[int]) -> int:
    """Hand the given events to their subscribers; the number handed over."""
    heard, settled = _settle_unheard(ids)
    done = len(settled)
    for event_id in heard:
        # Skipped once dispatched; two workers on one event at the same moment may both run
        # its handlers, which is why handlers are idempotent by the event's id.
        row = db.session.get(DomainEvent, event_id)
        if row is None or row.dispatched_at is not None:
            continue
        event = Event(row.id, row.name, dict(row.payload), row.created_at)
        try:
            for handler in list(_handlers.get(row.name, ())):
                handler(event)
        except Exception:
            db.session.rollback()
            log.exception("handler of %s event %s failed; retried by the sweep", event.name,
                          event.id)
            db.session.execute(sa.update(DomainEvent).where(DomainEvent.id == event_id)
                               .values(attempts=DomainEvent.attempts + 1))
            db.session.commit()
            continue
        db.session.execute(sa.update(DomainEvent).where(DomainEvent.id == event_id)
                           .values(dispatched_at=utcnow(), attempts=DomainEvent.attempts + 1))
        db.session.commit()
        done += 1
    return done


def _settle_unheard(ids: list[int]) -> tuple[list[int], list[int]]:
    """Mark events nobody subscribes to as dispatched in one statement; (the ids still to
    hand over, the ids settled). A busy import or seed then costs one update, not one commit
    per event."""
    names = dict(db.session.execute(sa.select(DomainEvent.id, DomainEvent.name).where(
        DomainEvent.id.in_(ids), DomainEvent.dispatched_at.is_(None))).all())
    unheard = [i for i, name in names.items() if not _handlers.get(name)]
    if unheard:
        db.session.execute(sa.update(DomainEvent).where(DomainEvent.id.in_(unheard),
                                                        DomainEvent.dispatched_at.is_(None))
                           .values(dispatched_at=utcnow(), attempts=DomainEvent.attempts + 1))
        db.session.commit()
    return [i for i in ids if i in names and i not in unheard], unheard


def sweep(now: datetime | None = None) -> int:
    """Dispatch events left undispatched past the grace period (and not given up on)."""
    cutoff = (now or utcnow()) - SWEEP_GRACE
    ids = list(db.session.scalars(
        sa.select(DomainEvent.id).where(DomainEvent.dispatched_at.is_(None),
                                        DomainEvent.created_at < cutoff,
                                        DomainEvent.attempts < MAX_ATTEMPTS)
        .order_by(DomainEvent.id).limit(BATCH_SIZE)))
    return dispatch(ids) if ids else 0


@celery.task(name="events.dispatch")
def dispatch_events_task(ids: list[int]) -> int:
    return dispatch(ids)


@celery.task(name="events.sweep")
def sweep_events_task() -> int:
    return sweep()


def init_events() -> None:
    """Listen to the session's commits (once per process)."""
    if not sa.event.contains(db.session, "after_commit", after_commit):
        sa.event.listen(db.session, "after_commit", after_commit)
        sa.event.listen(db.session, "after_soft_rollback", after_rollback)
