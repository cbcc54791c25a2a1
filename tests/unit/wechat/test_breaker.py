"""The circuit breaker: closed, open after failures in a row, one trial after a cool-down."""

from __future__ import annotations

import pickle

import pytest

from app.wechat.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker, CircuitOpen
from app.wechat.errors import WeChatUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, cool_down_seconds=30, clock=clock)


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.before_call()
        breaker.failed()


def test_calls_go_through_until_failures_in_a_row_reach_the_threshold(breaker):
    fail(breaker, 2)
    breaker.before_call()
    assert breaker.state == CLOSED
    breaker.failed()
    assert breaker.state == OPEN
    with pytest.raises(CircuitOpen):
        breaker.before_call()


def test_an_answer_between_failures_starts_the_count_again(breaker):
    fail(breaker, 2)
    breaker.succeeded()
    fail(breaker, 2)
    assert breaker.state == CLOSED


def test_an_open_circuit_says_how_long_until_its_trial(breaker, clock):
    fail(breaker, 3)
    clock.now += 10.5
    with pytest.raises(CircuitOpen) as refused:
        breaker.before_call()
    assert refused.value.retry_after_seconds == 20
    assert isinstance(refused.value, WeChatUnavailable)


def test_after_the_cool_down_one_trial_goes_through_and_the_others_wait(breaker, clock):
    fail(breaker, 3)
    clock.now += 30
    assert breaker.state == HALF_OPEN
    breaker.before_call()  # the trial
    with pytest.raises(CircuitOpen):
        breaker.before_call()


def test_a_trial_that_succeeds_closes_the_circuit(breaker, clock):
    fail(breaker, 3)
    clock.now += 30
    breaker.before_call()
    breaker.succeeded()
    assert breaker.state == CLOSED
    breaker.before_call()


def test_a_trial_that_fails_opens_the_circuit_for_another_cool_down(breaker, clock):
    fail(breaker, 3)
    clock.now += 30
    fail(breaker, 1)
    assert breaker.state == OPEN
    clock.now += 29
    with pytest.raises(CircuitOpen):
        breaker.before_call()
    clock.now += 1
    breaker.before_call()


def test_a_trial_that_never_reports_back_stops_blocking_after_a_cool_down(breaker, clock):
    fail(breaker, 3)
    clock.now += 30
    breaker.before_call()  # its thread dies without a word
    clock.now += 29
    with pytest.raises(CircuitOpen):
        breaker.before_call()
    clock.now += 1
    breaker.before_call()


def test_a_refusal_survives_pickling_as_celery_moves_it(breaker):
    fail(breaker, 3)
    with pytest.raises(CircuitOpen) as refused:
        breaker.before_call()
    copy = pickle.loads(pickle.dumps(refused.value))
    assert copy.retry_after_seconds == refused.value.retry_after_seconds
    assert str(copy) == str(refused.value)
