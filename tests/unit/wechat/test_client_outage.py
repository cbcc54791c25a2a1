"""The WeChat client when WeChat is slow or failing: a time budget per call, a circuit breaker."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from app.wechat.breaker import CLOSED, OPEN, CircuitBreaker, CircuitOpen
from app.wechat.errors import InvalidCode, WeChatUnavailable
from mini_program_stub.wechat_server import StubServer
from tests.unit.wechat.stub_support import (
    LOGIN,
    calls,
    control,
    fail_next,
    make_client,
    mint_code,
    serve_stub,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def stub_server() -> Iterator[StubServer]:
    with serve_stub() as server:
        yield server


@pytest.fixture
def stub(stub_server: StubServer) -> Iterator[StubServer]:
    control(stub_server, "POST", "/reset")
    yield stub_server
    control(stub_server, "DELETE", "/delays")  # no answer left waiting in the stub


def slow_down(stub: StubServer, seconds: float, count: int = 10) -> None:
    control(stub, "POST", "/delays", path=LOGIN, seconds=seconds, count=count)


def test_a_slow_wechat_fails_the_call_within_its_time_budget(stub):
    client = make_client(stub.url, timeout=0.2, budget_seconds=0.5, max_attempts=5,
                         backoff_seconds=0.01, breaker=CircuitBreaker(100))
    slow_down(stub, 10)
    started = time.monotonic()
    with pytest.raises(WeChatUnavailable, match="Timeout"):
        client.code_to_session(mint_code(stub))
    assert time.monotonic() - started < 0.5 + 0.25  # the budget, and some scheduling slack
    assert 2 <= calls(stub, LOGIN) < 5  # retried, but not all five attempts fit


def test_no_retry_is_started_that_the_budget_could_not_wait_for(stub):
    clock = Clock()
    # Pauses of 0.2–0.3 s, then 0.4–0.5 s: the second retry would start past 0.5 s.
    client = make_client(stub.url, budget_seconds=0.5, backoff_seconds=0.2, clock=clock,
                         sleep=clock.sleep)
    fail_next(stub, LOGIN, http_status=502, count=3)
    with pytest.raises(WeChatUnavailable, match="HTTP 502"):
        client.code_to_session(mint_code(stub))
    assert calls(stub, LOGIN) == 2
    assert clock.now - 1000.0 < 0.5  # gave up rather than sleep past the budget


def test_failures_in_a_row_open_the_circuit_and_then_nothing_is_sent(stub):
    client = make_client(stub.url, breaker=CircuitBreaker(failure_threshold=3))
    fail_next(stub, LOGIN, http_status=502, count=3)
    with pytest.raises(WeChatUnavailable, match="HTTP 502"):
        client.code_to_session(mint_code(stub))
    assert client.breaker.state == OPEN
    with pytest.raises(CircuitOpen):
        client.code_to_session(mint_code(stub))
    assert calls(stub, LOGIN) == 3


def test_timeouts_open_the_circuit_like_errors(stub):
    client = make_client(stub.url, timeout=0.1, max_attempts=2,
                         breaker=CircuitBreaker(failure_threshold=2))
    slow_down(stub, 10)
    with pytest.raises(WeChatUnavailable, match="Timeout"):
        client.code_to_session(mint_code(stub))
    started = time.monotonic()
    with pytest.raises(CircuitOpen):
        client.code_to_session(mint_code(stub))
    assert time.monotonic() - started < 0.1  # refused without waiting for any timeout
    assert calls(stub, LOGIN) == 2


def test_errcodes_of_the_request_are_answers_and_keep_the_circuit_closed(stub):
    client = make_client(stub.url, breaker=CircuitBreaker(failure_threshold=2))
    for _ in range(3):
        with pytest.raises(InvalidCode):
            client.code_to_session("not-a-code")
    assert client.breaker.state == CLOSED


def test_after_the_cool_down_a_successful_trial_closes_the_circuit(stub):
    clock = Clock()
    client = make_client(stub.url, breaker=CircuitBreaker(2, cool_down_seconds=30,
                                                          clock=clock))
    fail_next(stub, LOGIN, http_status=503, count=2)
    with pytest.raises(WeChatUnavailable):
        client.code_to_session(mint_code(stub))
    clock.now += 30
    assert client.code_to_session(mint_code(stub, "o-trial")).openid == "o-trial"
    assert client.breaker.state == CLOSED
    assert calls(stub, LOGIN) == 3
