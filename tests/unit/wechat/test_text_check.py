"""The text security check: what WeChat's verdicts mean, and check_text asking the stub for them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask

from app.platform.errors import InvalidInput, Unavailable
from app.wechat import CircuitBreaker, WeChatClient, wechat_client
from app.wechat.text_check import MAX_CHARS, TextVerdict, check_text
from mini_program_stub.wechat_server import StubServer
from tests.unit.wechat.stub_support import (
    SEC_CHECK,
    STABLE_TOKEN,
    calls,
    closed_port_url,
    control,
    fail_next,
    make_client,
    mint_code,
    serve_stub,
)

GOOD_COMMENT = "窗口办事很快，工作人员很耐心"


# --- what a verdict means -------------------------------------------------------------------


@pytest.mark.parametrize(("suggest", "label", "passed"), [
    ("pass", 100, True), ("review", 21000, False), ("risky", 20003, False),
])
def test_only_a_pass_lets_the_text_be_shown(suggest: str, label: int, passed: bool) -> None:
    verdict = TextVerdict.from_answer({"errcode": 0, "result": {"suggest": suggest,
                                                                "label": label}})
    assert verdict == TextVerdict(suggest, label)
    assert verdict.passed is passed


@pytest.mark.parametrize("answer", [
    {"errcode": 0}, {"result": "pass"}, {"result": {"label": 100}},
    {"result": {"suggest": "ok", "label": 100}}, {"result": {"suggest": "pass"}},
    {"result": {"suggest": "pass", "label": "100"}}, {"result": {"suggest": "pass", "label": True}},
])
def test_an_answer_without_a_known_verdict_has_none(answer: dict) -> None:
    assert TextVerdict.from_answer(answer) is None


# --- check_text against the stub -----------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[StubServer]:
    with serve_stub() as server:
        yield server


@pytest.fixture
def stub(served: StubServer) -> StubServer:
    served.state.reset()
    mint_code(served, "o-alice")  # a user of the mini program, as WeChat knows them
    return served


@contextmanager
def app_using(client: WeChatClient) -> Iterator[WeChatClient]:
    """Inside an app whose wechat_client is `client`."""
    app = Flask(__name__)
    app.extensions[wechat_client.name] = client
    with app.app_context():
        yield client


@pytest.fixture
def client(stub: StubServer) -> Iterator[WeChatClient]:
    with app_using(make_client(stub.url)) as client:
        yield client


def checked_texts(stub: StubServer) -> list[dict]:
    return control(stub, "GET", "/text-checks")["text_checks"]


def test_an_ordinary_comment_passes(stub: StubServer, client: WeChatClient) -> None:
    verdict = check_text("o-alice", GOOD_COMMENT)

    assert (verdict, verdict.passed) == (TextVerdict("pass", 100), True)
    [checked] = checked_texts(stub)
    assert (checked["openid"], checked["scene"], checked["content"]) == (
        "o-alice", 2, GOOD_COMMENT)


@pytest.mark.parametrize(("content", "label"), [
    ("这里有违规词", 20001), ("你们这群狗东西", 20003), ("网上赌博", 20006),
])
def test_a_risky_comment_does_not_pass(
        client: WeChatClient, content: str, label: int) -> None:
    verdict = check_text("o-alice", content)

    assert verdict == TextVerdict("risky", label)
    assert not verdict.passed


def test_a_comment_wechat_wants_reviewed_does_not_pass(client: WeChatClient) -> None:
    verdict = check_text("o-alice", "这条评价待复核")

    assert verdict == TextVerdict("review", 21000)
    assert not verdict.passed


def test_the_scene_reaches_wechat(stub: StubServer, client: WeChatClient) -> None:
    check_text("o-alice", GOOD_COMMENT, scene=3)

    assert checked_texts(stub)[0]["scene"] == 3


def test_a_scene_wechat_does_not_know_is_a_programming_error(
        stub: StubServer, client: WeChatClient) -> None:
    with pytest.raises(ValueError):
        check_text("o-alice", GOOD_COMMENT, scene=5)
    assert calls(stub, SEC_CHECK) == 0


@pytest.mark.parametrize("expire", ["/tokens/expire", "/tokens/invalidate"])
def test_a_rejected_token_is_refreshed_once_and_the_check_retried(
        stub: StubServer, client: WeChatClient, expire: str) -> None:
    client.access_token()
    control(stub, "POST", expire)

    assert check_text("o-alice", GOOD_COMMENT).passed
    assert (calls(stub, SEC_CHECK), calls(stub, STABLE_TOKEN)) == (2, 2)


def test_a_token_rejected_again_after_its_refresh_makes_the_check_unavailable(
        stub: StubServer, client: WeChatClient) -> None:
    fail_next(stub, SEC_CHECK, errcode=42001, count=2)

    with pytest.raises(Unavailable):
        check_text("o-alice", GOOD_COMMENT)
    assert calls(stub, SEC_CHECK) == 2


def test_a_busy_wechat_is_retried_then_the_check_is_unavailable(
        stub: StubServer, client: WeChatClient) -> None:
    fail_next(stub, SEC_CHECK, errcode=-1)
    assert check_text("o-alice", GOOD_COMMENT).passed

    fail_next(stub, SEC_CHECK, errcode=-1, count=3)
    with pytest.raises(Unavailable) as caught:
        check_text("o-alice", GOOD_COMMENT)
    assert caught.value.error == "unavailable"
    assert calls(stub, SEC_CHECK) == 5


@pytest.mark.parametrize(("errcode", "http_status"), [
    (45009, 200), (40003, 200), (-1, 502),
])
def test_any_failure_of_wechat_makes_the_check_unavailable(
        stub: StubServer, client: WeChatClient, errcode: int, http_status: int) -> None:
    fail_next(stub, SEC_CHECK, errcode=errcode, http_status=http_status, count=3)

    with pytest.raises(Unavailable):
        check_text("o-alice", GOOD_COMMENT)
    assert checked_texts(stub) == []


def test_an_unknown_user_makes_the_check_unavailable_rather_than_passing(
        client: WeChatClient) -> None:
    with pytest.raises(Unavailable):
        check_text("o-stranger", GOOD_COMMENT)


def test_an_unreachable_wechat_makes_the_check_unavailable() -> None:
    client = make_client(closed_port_url(), max_attempts=1)
    with app_using(client), pytest.raises(Unavailable):
        check_text("o-alice", GOOD_COMMENT)


def test_an_open_circuit_says_when_to_try_again() -> None:
    breaker = CircuitBreaker(failure_threshold=1, cool_down_seconds=30)
    with app_using(make_client(closed_port_url(), max_attempts=1, breaker=breaker)):
        with pytest.raises(Unavailable):
            check_text("o-alice", GOOD_COMMENT)
        with pytest.raises(Unavailable) as caught:
            check_text("o-alice", GOOD_COMMENT)
    assert 25 <= caught.value.retry_after_seconds <= 30


def test_a_comment_of_the_longest_length_is_checked(stub: StubServer,
                                                     client: WeChatClient) -> None:
    assert check_text("o-alice", "好" * MAX_CHARS).passed
    assert calls(stub, SEC_CHECK) == 1


def test_a_longer_comment_is_refused_without_asking_wechat(
        stub: StubServer, client: WeChatClient) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_text("o-alice", "好" * (MAX_CHARS + 1))

    assert caught.value.field == "comment"
    assert "2500" in caught.value.message
    assert calls(stub, SEC_CHECK) == 0


def test_comments_openids_and_tokens_never_reach_the_logs(
        stub: StubServer, client: WeChatClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fail_next(stub, SEC_CHECK, errcode=-1)
    check_text("o-alice", "这里有违规词")
    fail_next(stub, SEC_CHECK, errcode=45009)
    with pytest.raises(Unavailable):
        check_text("o-alice", GOOD_COMMENT)

    messages = [record.getMessage() for record in caplog.records]
    assert any("risky" in message for message in messages)
    assert any("errcode 45009" in message for message in messages)
    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    for secret in ("违规词", GOOD_COMMENT, "o-alice", client.access_token()):
        assert secret not in logged
