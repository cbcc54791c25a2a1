"""The stub's delayed answers: counted at once, answered late, released on demand."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import requests

from mini_program_stub.wechat_server import StubServer, create_stub_app
from tests.waiting import wait_until

LOGIN = "/sns/jscode2session"


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    with StubServer(create_stub_app()) as stub:
        yield stub


@pytest.fixture
def stub(server: StubServer) -> Iterator[StubServer]:
    requests.post(f"{server.url}/_stub/reset", timeout=5)
    yield server
    requests.delete(f"{server.url}/_stub/delays", timeout=5)


def delay(stub: StubServer, **body: object) -> requests.Response:
    return requests.post(f"{stub.url}/_stub/delays", json=body, timeout=5)


def login(stub: StubServer, timeout: float = 5) -> requests.Response:
    return requests.get(stub.url + LOGIN, timeout=timeout)


def login_calls(stub: StubServer) -> int:
    return requests.get(f"{stub.url}/_stub/calls", timeout=5).json()["calls"].get(LOGIN, 0)


def test_a_delayed_call_is_answered_late_and_only_the_next_count_are(stub):
    assert delay(stub, path=LOGIN, seconds=0.3, count=1).status_code == 201
    started = time.monotonic()
    assert login(stub).json()["errcode"] == 40013  # the answer itself is unchanged
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    login(stub)
    assert time.monotonic() - started < 0.3


def test_a_call_whose_answer_never_arrives_is_still_counted(stub):
    delay(stub, path=LOGIN, seconds=30)
    with pytest.raises(requests.Timeout):
        login(stub, timeout=0.2)
    assert login_calls(stub) == 1


def test_clearing_the_delays_sends_held_answers_at_once(stub):
    delay(stub, path=LOGIN, seconds=30)
    answers: list[requests.Response] = []
    caller = threading.Thread(target=lambda: answers.append(login(stub, timeout=10)))
    caller.start()
    wait_until(lambda: login_calls(stub), 5, "the call to be held in the stub")
    started = time.monotonic()
    released = requests.delete(f"{stub.url}/_stub/delays", timeout=5)
    caller.join(timeout=5)
    assert released.json() == {"released": 0}  # the one delay was taken by the held call
    assert answers and answers[0].json()["errcode"] == 40013
    assert time.monotonic() - started < 5


def test_a_reset_forgets_the_delays(stub):
    delay(stub, path=LOGIN, seconds=30, count=5)
    requests.post(f"{stub.url}/_stub/reset", timeout=5)
    assert login(stub, timeout=2).status_code == 200


@pytest.mark.parametrize("body", [
    {"seconds": 1},
    {"path": LOGIN},
    {"path": LOGIN, "seconds": 0},
    {"path": LOGIN, "seconds": 1000},
    {"path": LOGIN, "seconds": True},
    {"path": LOGIN, "seconds": 1, "count": 0},
    {"path": "/_stub/calls", "seconds": 1},
    {"path": "sns/jscode2session", "seconds": 1},
])
def test_a_delay_that_makes_no_sense_is_refused(stub, body):
    answer = delay(stub, **body)
    assert answer.status_code == 400
    assert answer.json()["message"]
