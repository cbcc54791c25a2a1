"""One person's WeChat message, at most once: claimed before WeChat is called, a claim whose
worker died is never sent, WeChat's answers (43101, busy, a lost answer) recorded as they
mean, and the send rate kept under its limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.extensions import db
from app.models.push_delivery import PushSend
from app.platform.orm import utcnow
from app.push import consent, wechat_sends
from app.push.quiet_hours import quiet_until
from app.push.wechat_delivery import deliver_chunk, deliver_run
from app.push.wechat_sends import CLAIM_TIMEOUT, MAX_ATTEMPTS, SendRate, send_client, sweep
from mini_program_stub.wechat_state import InjectedFailure
from tests.wechat_factories import (
    LONG_TERM,
    ONE_TIME,
    SEND_PATH,
    china,
    consent_to,
    create_people,
    create_wechat_rule,
    run_for,
    sends_of,
)
from tests.wechat_factories import counts_of as wechat_counts

# Each test starts with the send client's circuit closed, whatever the last one did.
pytestmark = pytest.mark.usefixtures("closed_breaker")


def fail_next_sends(stub, errcode: int, count: int = 1, http_status: int = 200) -> None:
    stub.state.add_failure(SEND_PATH, InjectedFailure(errcode, http_status), count)


def send_calls(stub) -> int:
    return stub.state.call_counts().get(SEND_PATH, 0)


def test_wechat_saying_no_subscription_left_spends_the_credit(wechat_stub):
    [person] = create_people(1)
    # Two accepts recorded here, none left at WeChat (used from another device, say).
    consent_to([person], ONE_TIME, stub=wechat_stub, accepts=2, at_wechat=0)
    rule = create_wechat_rule(template_id=ONE_TIME)
    first = run_for(rule, [person])
    deliver_run(first.id)
    send = sends_of(first)[person.id]
    assert (send.status, send.errcode) == ("no_consent", 43101)
    assert consent.credit_state(person.id, ONE_TIME)["credits"] == 0
    calls = send_calls(wechat_stub)
    second = run_for(rule, [person])
    deliver_run(second.id)
    assert send_calls(wechat_stub) == calls  # WeChat is not asked again
    assert wechat_counts(rule.id)["skipped"]["no_consent"] == 2


def test_a_busy_wechat_is_retried_and_the_message_goes_once(wechat_stub):
    [person] = create_people(1)
    consent_to([person], ONE_TIME, stub=wechat_stub)
    fail_next_sends(wechat_stub, -1)
    run = run_for(create_wechat_rule(template_id=ONE_TIME), [person])
    deliver_run(run.id)  # the retry task runs at once in tests (its countdown is skipped)
    assert send_calls(wechat_stub) == 2
    assert len(wechat_stub.state.messages(person.openid)) == 1
    send = sends_of(run)[person.id]
    assert (send.status, send.attempts) == ("sent", 2)
    assert consent.credit_state(person.id, ONE_TIME)["credits"] == 0


def test_a_wechat_busy_through_every_retry_fails_and_keeps_the_credit(wechat_stub):
    [person] = create_people(1)
    consent_to([person], ONE_TIME, stub=wechat_stub)
    fail_next_sends(wechat_stub, -1, count=10)
    run = run_for(create_wechat_rule(template_id=ONE_TIME), [person])
    deliver_run(run.id)
    send = sends_of(run)[person.id]
    assert (send.status, send.errcode, send.attempts) == ("failed", -1, MAX_ATTEMPTS)
    assert send_calls(wechat_stub) == MAX_ATTEMPTS
    assert wechat_stub.state.messages() == []
    # WeChat never took it: the consent is still there for the next message.
    assert consent.credit_state(person.id, ONE_TIME)["credits"] == 1
    assert wechat_counts(run.rule_id)["failed"] == 1


def test_an_answer_that_never_comes_leaves_the_send_unknown_and_it_is_not_repeated(
        wechat_stub):
    [person] = create_people(1)
    consent_to([person], LONG_TERM, stub=wechat_stub)
    fail_next_sends(wechat_stub, -1, http_status=502)  # a gateway's error page
    run = run_for(create_wechat_rule(), [person])
    deliver_run(run.id)
    deliver_run(run.id)
    assert send_calls(wechat_stub) == 1
    assert sends_of(run)[person.id].status == "unknown"
    assert wechat_counts(run.rule_id)["unknown"] == 1


def test_an_expired_access_token_is_refreshed_once_and_the_message_goes(wechat_stub):
    [person] = create_people(1)
    consent_to([person], LONG_TERM, stub=wechat_stub)
    send_client().access_token()
    wechat_stub.state.expire_tokens()
    run = run_for(create_wechat_rule(), [person])
    deliver_run(run.id)
    assert len(wechat_stub.state.messages()) == 1
    assert sends_of(run)[person.id].status == "sent"


def test_a_claim_left_by_a_dead_worker_becomes_unknown_and_is_never_sent(wechat_stub):
    dead, slow = create_people(2)
    consent_to([dead, slow], LONG_TERM, stub=wechat_stub)
    run = run_for(create_wechat_rule(), [dead, slow])
    now = utcnow()
    for person, claimed_at in ((dead, now - CLAIM_TIMEOUT - timedelta(seconds=1)),
                               (slow, now - timedelta(seconds=5))):
        db.session.add(PushSend(run_id=run.id, user_id=person.id, template_id=LONG_TERM,
                                status="claimed", claimed_at=claimed_at))
    db.session.commit()
    assert sweep(now) == 1
    db.session.commit()
    deliver_run(run.id)
    assert wechat_stub.state.messages() == []
    sends = sends_of(run)
    assert (sends[dead.id].status, sends[slow.id].status) == ("unknown", "claimed")
    counts = wechat_counts(run.rule_id)
    assert (counts["unknown"], counts["in_flight"], counts["sent"]) == (1, 1, 0)


def test_the_claim_and_the_credit_are_committed_before_wechat_is_called(wechat_stub,
                                                                        monkeypatch):
    [person] = create_people(1)
    consent_to([person], ONE_TIME, stub=wechat_stub)
    run = run_for(create_wechat_rule(template_id=ONE_TIME), [person])
    seen = {}

    def crash_in_the_call(facts, who, now):
        db.session.rollback()  # what the worker had not committed would be lost with it
        seen["status"] = sends_of(run)[who.user_id].status
        seen["credits"] = consent.credit_state(who.user_id, ONE_TIME)["credits"]
        raise SystemExit("worker killed")

    monkeypatch.setattr(wechat_sends, "call_wechat", crash_in_the_call)
    with pytest.raises(SystemExit):
        deliver_run(run.id)
    assert seen == {"status": "claimed", "credits": 0}
    monkeypatch.undo()
    send_client().breaker.succeeded()
    deliver_run(run.id)  # Celery hands the chunk to another worker
    assert wechat_stub.state.messages() == []


def test_the_send_rate_refuses_sends_over_the_limit_until_the_next_second():
    clock = [100.25]
    rate = SendRate(2, clock=lambda: clock[0])
    assert [rate.wait_seconds() for _ in range(3)] == [0.0, 0.0, 0.75]
    clock[0] = 101.0
    assert rate.wait_seconds() == 0.0


def test_sends_wait_for_the_rate_limit(wechat_stub):
    people = create_people(3)
    consent_to(people, LONG_TERM, stub=wechat_stub)
    clock = [1000.5]
    waits = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds

    run = run_for(create_wechat_rule(), people)
    deliver_chunk(run.id, 0, 3, rate=SendRate(1, clock=lambda: clock[0]), sleep=sleep)
    assert len(wechat_stub.state.messages()) == 3
    assert waits == [0.5, 1.0]


@pytest.mark.parametrize(("moment", "until"), [
    ("2026-11-26 23:30", "2026-11-27 07:00"),  # the evening part of the window
    ("2026-11-27 06:59", "2026-11-27 07:00"),  # the morning part
    ("2026-11-26 22:00", "2026-11-27 07:00"),  # the start belongs to it
    ("2026-11-27 07:00", None),  # the end does not
    ("2026-11-26 12:00", None),
])
def test_quiet_hours_may_run_past_midnight(moment, until):
    window = {"start": "22:00", "end": "07:00"}
    assert quiet_until(window, china(moment)) == (china(until) if until else None)


def test_quiet_hours_within_one_day_and_none():
    window = {"start": "12:00", "end": "14:00"}
    assert quiet_until(window, china("2026-11-26 13:00")) == china("2026-11-26 14:00")
    assert quiet_until(window, china("2026-11-26 23:00")) is None
    assert quiet_until(None, datetime(2026, 11, 26, tzinfo=UTC)) is None
