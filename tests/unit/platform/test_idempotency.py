"""Writes from outside are done once per event id, whatever kind of event they are."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.extensions import db
from app.platform.errors import Conflict
from app.platform.idempotency import once


def counting_act(calls: list[str], answer: dict) -> Callable[[], tuple[int, dict]]:
    def act() -> tuple[int, dict]:
        calls.append("acted")
        return 201, answer

    return act


def test_a_repeated_event_gets_the_first_answer_without_acting_again(app_context):
    calls: list[str] = []
    first = once("dept-a", "evt-1", "issue", counting_act(calls, {"id": "1"}))
    db.session.commit()
    again = once("dept-a", "evt-1", "issue", counting_act(calls, {"id": "2"}))
    assert first == again == (201, {"id": "1"})
    assert calls == ["acted"]


def test_the_same_event_id_from_another_department_is_another_event(app_context):
    calls: list[str] = []
    once("dept-a", "evt-1", "issue", counting_act(calls, {"id": "1"}))
    db.session.commit()
    assert once("dept-b", "evt-1", "issue", counting_act(calls, {"id": "2"})) == (201, {"id": "2"})
    assert calls == ["acted", "acted"]


def test_an_event_id_reused_for_another_kind_of_event_is_a_conflict(app_context):
    calls: list[str] = []
    once("dept-a", "evt-1", "issue", counting_act(calls, {"id": "1"}))
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        once("dept-a", "evt-1", "revoke", counting_act(calls, {"id": "1"}))
    assert caught.value.errors == {"event_id": ["issue"]}
    assert calls == ["acted"]
