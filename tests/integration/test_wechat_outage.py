"""Logins while WeChat (the stub, over HTTP) is slow: each waits no longer than the call
budget; after failures in a row the breaker answers 503 at once without calling WeChat, and a
successful trial after the cool-down closes it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from app.wechat import wechat_client
from app.wechat.breaker import CLOSED, OPEN, CircuitBreaker
from mini_program_stub.wechat_server import StubServer
from tests.outages import side_app

pytestmark = pytest.mark.integration
LOGIN = "/sns/jscode2session"
TIMEOUT_SECONDS, BUDGET_SECONDS, COOL_DOWN_SECONDS = 0.3, 1.0, 30


class Clock:
    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def served(app: Flask, make_app: Callable[..., Flask], wechat_stub: StubServer
           ) -> Iterator[Flask]:
    with side_app(make_app, app, WECHAT_TIMEOUT=TIMEOUT_SECONDS,
                  WECHAT_CALL_BUDGET=BUDGET_SECONDS, WECHAT_BREAKER_FAILURES=2,
                  WECHAT_BREAKER_COOL_DOWN=COOL_DOWN_SECONDS) as built:
        yield built
    requests.delete(f"{wechat_stub.url}/_stub/delays", timeout=5)  # release held answers


@pytest.fixture
def clock(served: Flask) -> Clock:
    """The breaker's clock, moved by the test instead of waiting out the cool-down."""
    with served.app_context():
        breaker = wechat_client().breaker
    breaker.clock = Clock()
    return breaker.clock


@pytest.fixture
def breaker(served: Flask, clock: Clock) -> CircuitBreaker:
    with served.app_context():
        return wechat_client().breaker


@pytest.fixture
def client(served: Flask) -> FlaskClient:
    return served.test_client()


def slow_wechat(stub: StubServer, seconds: float = 10) -> None:
    requests.post(f"{stub.url}/_stub/delays", timeout=5,
                  json={"path": LOGIN, "seconds": seconds, "count": 100})


def timed_login(client: FlaskClient, stub: StubServer) -> tuple[int, float, dict, str]:
    code = stub.state.mint_code("o-waiting")
    started = time.monotonic()
    answer = client.post("/api/v1/auth/wechat-login", json={"code": code})
    return (answer.status_code, time.monotonic() - started, answer.get_json(),
            answer.headers.get("Retry-After", ""))


def wechat_calls(stub: StubServer) -> int:
    return stub.state.call_counts().get(LOGIN, 0)


def test_a_login_answers_503_within_the_budget_while_wechat_is_slow(client, wechat_stub):
    slow_wechat(wechat_stub)
    status, waited, body, _ = timed_login(client, wechat_stub)
    assert status == 503 and body["error"] == "unavailable"
    assert waited < BUDGET_SECONDS + 0.5  # the budget, and the app's own few milliseconds
    assert 1 <= wechat_calls(wechat_stub) <= 3


def test_once_the_breaker_opens_logins_answer_503_at_once_without_calling_wechat(
        client, wechat_stub, breaker):
    slow_wechat(wechat_stub)
    timed_login(client, wechat_stub)  # two attempts time out: the breaker opens
    assert breaker.state == OPEN
    calls = wechat_calls(wechat_stub)
    answers = [timed_login(client, wechat_stub) for _ in range(5)]
    assert [status for status, *_ in answers] == [503] * 5
    assert max(waited for _, waited, *_ in answers) < TIMEOUT_SECONDS / 2
    assert {retry_after for *_, retry_after in answers} == {str(COOL_DOWN_SECONDS)}
    assert wechat_calls(wechat_stub) == calls


def test_after_the_cool_down_a_successful_trial_closes_the_breaker(client, wechat_stub,
                                                                   breaker, clock):
    slow_wechat(wechat_stub)
    timed_login(client, wechat_stub)
    requests.delete(f"{wechat_stub.url}/_stub/delays", timeout=5)  # WeChat recovers
    assert timed_login(client, wechat_stub)[0] == 503  # still cooling down: not asked
    calls = wechat_calls(wechat_stub)

    clock.now += COOL_DOWN_SECONDS
    assert timed_login(client, wechat_stub)[0] == 200
    assert wechat_calls(wechat_stub) == calls + 1
    assert breaker.state == CLOSED
    assert timed_login(client, wechat_stub)[0] == 200


def test_a_failed_trial_opens_the_breaker_for_another_cool_down(client, wechat_stub,
                                                                breaker, clock):
    slow_wechat(wechat_stub)
    timed_login(client, wechat_stub)
    clock.now += COOL_DOWN_SECONDS
    status, waited, *_ = timed_login(client, wechat_stub)  # the trial times out
    assert status == 503 and waited >= TIMEOUT_SECONDS
    status, waited, *_ = timed_login(client, wechat_stub)
    assert status == 503 and waited < TIMEOUT_SECONDS / 2
    assert breaker.state == OPEN
