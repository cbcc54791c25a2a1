"""The WeChat client against the stub server over real HTTP: answers, retries, token reuse."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

from app.wechat import errors
from app.wechat.client import SessionInfo, WeChatClient
from app.wechat.errors import (
    CodeBlocked,
    CodeUsed,
    InvalidAppSecret,
    InvalidArgument,
    InvalidCode,
    InvalidCredential,
    LoginCodeRejected,
    SubscriptionRefused,
    WeChatBusy,
    WeChatUnavailable,
)
from mini_program_stub.wechat_server import StubServer
from tests.unit.wechat.stub_support import (
    LOGIN,
    SEC_CHECK,
    SECRET,
    SEND,
    STABLE_TOKEN,
    calls,
    closed_port_url,
    control,
    fail_next,
    make_client,
    mint_code,
    serve_stub,
    subscribe,
)
from tests.unit.wechat.test_errors import DOCUMENTED

REMINDER = "tpl-service-reminder"  # long-term template: thing1, thing2, date3
REMINDER_DATA = {"thing1": "营业执照年检", "thing2": "市民中心三楼", "date3": "2026-11-22"}


@pytest.fixture(scope="module")
def stub_server() -> Iterator[StubServer]:
    # One server per module: stopping one takes half a second (its shutdown poll).
    with serve_stub() as server:
        yield server


@pytest.fixture
def stub(stub_server: StubServer) -> StubServer:
    control(stub_server, "POST", "/reset")
    return stub_server


@pytest.fixture
def client(stub: StubServer) -> WeChatClient:
    return make_client(stub.url)


# --- login --------------------------------------------------------------------------------


def test_a_login_code_is_exchanged_for_openid_and_session_key(
        stub: StubServer, client: WeChatClient) -> None:
    session = client.code_to_session(mint_code(stub, "o-alice"))
    assert session == SessionInfo("o-alice", None, stub.state.session_key("o-alice"))


def test_login_reports_the_unionid_of_an_app_bound_to_an_open_platform_account(
        stub: StubServer, client: WeChatClient) -> None:
    session = client.code_to_session(mint_code(stub, "o-alice", unionid="u-alice"))
    assert (session.openid, session.unionid) == ("o-alice", "u-alice")


def test_a_login_code_works_only_once(stub: StubServer, client: WeChatClient) -> None:
    code = mint_code(stub)
    client.code_to_session(code)
    with pytest.raises(CodeUsed):
        client.code_to_session(code)


def test_an_unknown_login_code_is_rejected(client: WeChatClient) -> None:
    with pytest.raises(InvalidCode) as caught:
        client.code_to_session("not-a-code")
    assert isinstance(caught.value, LoginCodeRejected)
    assert "not-a-code" not in str(caught.value)


def test_a_blocked_user_cannot_log_in(stub: StubServer, client: WeChatClient) -> None:
    control(stub, "POST", "/blocked", openid="o-risky")
    with pytest.raises(CodeBlocked):
        client.code_to_session(mint_code(stub, "o-risky"))


def test_a_wrong_secret_is_rejected_without_showing_it(stub: StubServer) -> None:
    client = make_client(stub.url, secret="wrong-secret-31d")
    with pytest.raises(InvalidAppSecret) as caught:
        client.code_to_session(mint_code(stub))
    assert "wrong-secret-31d" not in str(caught.value)


@pytest.mark.parametrize(("errcode", "name"), sorted(DOCUMENTED.items()))
def test_each_errcode_raises_its_named_exception_and_only_busy_is_retried(
        stub: StubServer, client: WeChatClient, errcode: int, name: str) -> None:
    fail_next(stub, LOGIN, errcode=errcode, count=3)
    with pytest.raises(getattr(errors, name)) as caught:
        client.code_to_session(mint_code(stub))
    assert caught.value.errcode == errcode
    assert calls(stub, LOGIN) == (3 if errcode == -1 else 1)


# --- retries ------------------------------------------------------------------------------


def test_busy_twice_then_success_is_retried_with_growing_waits(stub: StubServer) -> None:
    waits: list[float] = []
    client = make_client(stub.url, sleep=waits.append, backoff_seconds=0.2)
    fail_next(stub, LOGIN, errcode=-1, count=2)
    assert client.code_to_session(mint_code(stub, "o-alice")).openid == "o-alice"
    assert calls(stub, LOGIN) == 3
    assert len(waits) == 2
    assert 0.2 <= waits[0] < 0.4 <= waits[1] < 0.6


def test_busy_on_every_attempt_raises_wechat_busy_after_max_attempts(stub: StubServer) -> None:
    client = make_client(stub.url, max_attempts=4)
    fail_next(stub, LOGIN, errcode=-1, count=10)
    with pytest.raises(WeChatBusy):
        client.code_to_session(mint_code(stub))
    assert calls(stub, LOGIN) == 4


def test_a_bad_gateway_is_retried_then_reported_unavailable(
        stub: StubServer, client: WeChatClient) -> None:
    fail_next(stub, LOGIN, http_status=502, count=3)
    with pytest.raises(WeChatUnavailable, match="HTTP 502") as caught:
        client.code_to_session(mint_code(stub))
    assert caught.value.errcode is None
    assert calls(stub, LOGIN) == 3


def test_a_gateway_error_that_passes_is_invisible_to_the_caller(
        stub: StubServer, client: WeChatClient) -> None:
    fail_next(stub, LOGIN, http_status=503)
    assert client.code_to_session(mint_code(stub, "o-alice")).openid == "o-alice"


def test_an_answer_that_is_not_json_is_reported_unavailable_without_retry(
        stub: StubServer, client: WeChatClient) -> None:
    fail_next(stub, LOGIN, http_status=404)
    with pytest.raises(WeChatUnavailable, match="not a JSON object"):
        client.code_to_session(mint_code(stub))
    assert calls(stub, LOGIN) == 1


def test_a_closed_port_is_reported_unavailable_without_the_url() -> None:
    client = make_client(closed_port_url(), max_attempts=2)
    with pytest.raises(WeChatUnavailable, match="ConnectionError") as caught:
        client.code_to_session("js-code-123")
    error = caught.value
    assert error.__cause__ is None and error.__context__ is None
    assert SECRET not in str(error) and "js-code-123" not in str(error)


def test_a_server_that_never_answers_times_out_and_is_reported_unavailable() -> None:
    with socket.socket() as silent:  # accepts connections (backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        host, port = silent.getsockname()
        client = make_client(f"http://{host}:{port}", timeout=0.05, max_attempts=2)
        with pytest.raises(WeChatUnavailable, match="ReadTimeout"):
            client.code_to_session("js-code-123")


# --- subscribe messages and the access token ----------------------------------------------


def test_a_subscribe_message_wraps_each_value_as_wechat_expects(
        stub: StubServer, client: WeChatClient) -> None:
    subscribe(stub, "o-alice", REMINDER)
    answer = client.send_subscribe_message("o-alice", REMINDER, REMINDER_DATA,
                                           page="pages/case/detail?no=7")
    assert answer["errcode"] == 0
    [message] = control(stub, "GET", "/messages")["messages"]
    assert message["msgid"] == answer["msgid"]
    assert message["data"] == {key: {"value": value} for key, value in REMINDER_DATA.items()}
    assert (message["page"], message["miniprogram_state"], message["lang"]) == (
        "pages/case/detail?no=7", "formal", "zh_CN")


def test_sends_reuse_one_access_token(stub: StubServer, client: WeChatClient) -> None:
    subscribe(stub, "o-alice", REMINDER)
    for _ in range(3):
        client.send_subscribe_message("o-alice", REMINDER, REMINDER_DATA)
    assert calls(stub, STABLE_TOKEN) == 1


def test_a_send_without_consent_raises_subscription_refused(
        stub: StubServer, client: WeChatClient) -> None:
    mint_code(stub, "o-alice")  # a known user, with no consent
    with pytest.raises(SubscriptionRefused):
        client.send_subscribe_message("o-alice", REMINDER, REMINDER_DATA)


def test_a_value_beyond_its_limits_raises_invalid_argument(
        stub: StubServer, client: WeChatClient) -> None:
    subscribe(stub, "o-alice", REMINDER)
    with pytest.raises(InvalidArgument, match="thing1"):
        client.send_subscribe_message("o-alice", REMINDER,
                                      {**REMINDER_DATA, "thing1": "长" * 21})


@pytest.mark.parametrize("control_path", ["/tokens/expire", "/tokens/invalidate"])
def test_a_rejected_token_is_refreshed_once_and_the_send_retried(
        stub: StubServer, client: WeChatClient, control_path: str) -> None:
    subscribe(stub, "o-alice", REMINDER, credits=1)
    first_token = client.access_token()
    control(stub, "POST", control_path)  # the cached token now gets 42001 / 40001

    client.send_subscribe_message("o-alice", REMINDER, REMINDER_DATA)

    assert calls(stub, SEND) == 2
    assert calls(stub, STABLE_TOKEN) == 2
    assert client.access_token() != first_token
    assert len(control(stub, "GET", "/messages")["messages"]) == 1


def test_a_rejected_token_wechat_still_hands_out_is_force_refreshed(
        stub: StubServer, client: WeChatClient) -> None:
    subscribe(stub, "o-alice", REMINDER)
    first_token = client.access_token()
    fail_next(stub, SEND, errcode=40001)

    client.send_subscribe_message("o-alice", REMINDER, REMINDER_DATA)

    # initial fetch, a plain one that hands back the same token, then the forced one
    assert calls(stub, STABLE_TOKEN) == 3
    assert client.access_token() != first_token


def test_a_token_rejected_again_after_its_refresh_is_not_refreshed_twice(
        stub: StubServer, client: WeChatClient) -> None:
    subscribe(stub, "o-alice", REMINDER)
    client.access_token()
    control(stub, "POST", "/tokens/expire")
    fail_next(stub, SEND, errcode=40001, count=2)
    with pytest.raises(InvalidCredential):
        client.send_subscribe_message("o-alice", REMINDER, REMINDER_DATA)
    assert calls(stub, SEND) == 2
    assert calls(stub, STABLE_TOKEN) == 2


# --- text security check ------------------------------------------------------------------


@pytest.mark.parametrize(("content", "suggest"), [
    ("请问营业执照在哪里办理", "pass"), ("加微信领补贴", "review"), ("网上赌博", "risky"),
])
def test_the_text_check_returns_wechats_suggestion(
        stub: StubServer, client: WeChatClient, content: str, suggest: str) -> None:
    mint_code(stub, "o-alice")
    assert client.msg_sec_check("o-alice", content).suggest == suggest


def test_the_text_check_refreshes_an_expired_token_once(
        stub: StubServer, client: WeChatClient) -> None:
    mint_code(stub, "o-alice")
    client.access_token()
    control(stub, "POST", "/tokens/expire")
    assert client.msg_sec_check("o-alice", "你好").suggest == "pass"
    assert (calls(stub, SEC_CHECK), calls(stub, STABLE_TOKEN)) == (2, 2)


# --- secrets ------------------------------------------------------------------------------


def test_session_info_repr_hides_the_session_key() -> None:
    session = SessionInfo("o-alice", "u-alice", "c2Vzc2lvbi1rZXk=")
    assert "c2Vzc2lvbi1rZXk=" not in repr(session)
    assert "c2Vzc2lvbi1rZXk=" not in str(session)


def test_secrets_codes_session_keys_and_tokens_never_reach_the_logs(
        stub: StubServer, client: WeChatClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    subscribe(stub, "o-alice", REMINDER)
    used_code = mint_code(stub, "o-alice")
    fail_next(stub, LOGIN, errcode=-1)
    session = client.code_to_session(used_code)
    with pytest.raises(CodeUsed):
        client.code_to_session(used_code)
    first_token = client.access_token()
    control(stub, "POST", "/tokens/invalidate")
    client.send_subscribe_message("o-alice", REMINDER, REMINDER_DATA)
    fail_next(stub, STABLE_TOKEN, http_status=502, count=3)
    with pytest.raises(WeChatUnavailable):
        make_client(stub.url).access_token()
    with pytest.raises(WeChatUnavailable):
        make_client(closed_port_url()).code_to_session("js-code-closed")

    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    assert any(record.name.startswith("urllib3") for record in caplog.records)
    assert any("attempt 1 of 3" in record.getMessage() for record in caplog.records)
    for secret in (SECRET, used_code, session.session_key, first_token,
                   client.access_token(), "js-code-closed"):
        assert secret not in logged
