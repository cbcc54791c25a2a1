"""Domain events: written with their change, handed to subscribers after the commit, retried
by the sweep when a handler fails, and never handed over twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models.event import DomainEvent
from app.platform.events import (
    MAX_ATTEMPTS,
    SWEEP_GRACE,
    Event,
    dispatch,
    emit,
    subscribe,
    sweep,
    unsubscribe,
)

NAME = "test.happened"


class Recorder:
    """A handler that records what it was given, and fails while told to."""

    def __init__(self) -> None:
        self.seen: list[Event] = []
        self.failing = False

    def __call__(self, event: Event) -> None:
        if self.failing:
            raise RuntimeError("the handler's service is down")
        self.seen.append(event)


@pytest.fixture
def recorder(app_context) -> Iterator[Recorder]:
    handler = Recorder()
    subscribe(NAME, handler)
    yield handler
    unsubscribe(NAME, handler)


def rows() -> list[DomainEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(DomainEvent).order_by(DomainEvent.id)))


def test_an_event_is_handed_to_subscribers_after_its_transaction_commits(recorder):
    event = emit(NAME, case_no="53202611250000001", status="accepted")
    db.session.flush()
    assert recorder.seen == []            # not before the commit
    db.session.commit()
    [seen] = recorder.seen
    assert seen.id == event.id and seen.name == NAME
    assert seen.payload == {"case_no": "53202611250000001", "status": "accepted"}
    [row] = rows()
    assert row.dispatched_at is not None and row.attempts == 1


def test_only_subscribers_of_the_events_name_get_it(recorder):
    emit("test.other", n=1)
    db.session.commit()
    assert recorder.seen == []
    [row] = rows()
    assert row.dispatched_at is not None  # nobody wanted it: handed over to no one


def test_a_rolled_back_event_never_happened(recorder):
    emit(NAME, n=1)
    db.session.flush()
    db.session.rollback()
    assert rows() == []
    emit(NAME, n=2)                        # the next transaction's own event only
    db.session.commit()
    assert [e.payload for e in recorder.seen] == [{"n": 2}]


def test_an_event_undone_by_a_savepoint_is_not_handed_over(recorder):
    emit(NAME, n=1)
    with pytest.raises(RuntimeError), db.session.begin_nested():
        emit(NAME, n=2)
        db.session.flush()
        raise RuntimeError("undo the savepoint")
    db.session.commit()
    assert [e.payload for e in recorder.seen] == [{"n": 1}]
    assert [r.payload for r in rows()] == [{"n": 1}]


def test_a_failing_handler_leaves_the_event_to_the_sweep(recorder):
    recorder.failing = True
    emit(NAME, n=1)
    db.session.commit()
    [row] = rows()
    assert row.dispatched_at is None and row.attempts == 1
    # Within the grace period the sweep leaves it alone (its own hand-over may be under way).
    recorder.failing = False
    assert sweep(now=row.created_at + SWEEP_GRACE - timedelta(seconds=1)) == 0
    assert recorder.seen == []
    assert sweep(now=row.created_at + SWEEP_GRACE + timedelta(seconds=1)) == 1
    assert [e.payload for e in recorder.seen] == [{"n": 1}]
    [row] = rows()
    assert row.dispatched_at is not None and row.attempts == 2


def test_the_sweep_gives_up_after_the_last_attempt(recorder):
    recorder.failing = True
    emit(NAME, n=1)
    db.session.commit()
    later = rows()[0].created_at + timedelta(minutes=5)
    for _ in range(MAX_ATTEMPTS + 3):
        sweep(now=later)
    [row] = rows()
    assert row.attempts == MAX_ATTEMPTS and row.dispatched_at is None


def test_a_dispatched_event_is_not_dispatched_twice(recorder):
    event = emit(NAME, n=1)
    db.session.commit()
    assert len(recorder.seen) == 1
    assert dispatch([event.id]) == 0
    assert sweep(now=rows()[0].created_at + timedelta(hours=1)) == 0
    assert len(recorder.seen) == 1
    assert rows()[0].attempts == 1


def test_dispatch_skips_ids_it_cannot_find(recorder):
    assert dispatch([10**12]) == 0
    assert recorder.seen == []


def test_a_handler_subscribed_twice_runs_once(recorder):
    subscribe(NAME, recorder)
    emit(NAME, n=1)
    db.session.commit()
    assert len(recorder.seen) == 1
