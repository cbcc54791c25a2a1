"""The real-name check: what WeChat's verdicts mean, and the client asking the stub for them."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from app.seed.fake_identifiers import fake_id_number
from app.wechat import RealNameCheck, RealNameCodeInvalid, WeChatBusy, WeChatClient
from mini_program_stub.wechat_server import StubServer
from tests.unit.wechat.stub_support import (
    STABLE_TOKEN,
    calls,
    control,
    fail_next,
    make_client,
    serve_stub,
)

REAL_NAME = "/intp/realname/checkrealnameinfo"
NUMBER = fake_id_number("530102", sequence=41)
OTHER_NUMBER = fake_id_number("530102", sequence=43)


# --- what a verdict means -------------------------------------------------------------------


def verdict(verify_openid: str, verify_real_name: str | None = "") -> RealNameCheck:
    check = RealNameCheck.from_answer({"errcode": 0, "verify_openid": verify_openid,
                                       "verify_real_name": verify_real_name})
    assert check is not None
    return check


@pytest.mark.parametrize(("verify_openid", "verify_real_name", "meaning"), [
    ("V_OP_NM_MA", "V_NM_ID_MA", "matches"),
    ("V_OP_NM_MA", "V_NM_ID_UM", "mismatch"),
    ("V_OP_NM_UM", "", "mismatch"),
    ("V_OP_NA", "", "not_real_named"),
    ("V_OP_NA;V_OP_NM_UM", None, "not_real_named"),
    (" V_OP_NM_MA ;", "V_NM_ID_MA", "matches"),
    ("V_OP_NM_MA", "", None),
    ("V_OP_SOMETHING_NEW", "V_NM_ID_MA", None),
])
def test_only_a_matching_user_name_and_number_together_make_a_match(
        verify_openid: str, verify_real_name: str | None, meaning: str | None) -> None:
    check = verdict(verify_openid, verify_real_name)
    seen = [name for name in ("matches", "mismatch", "not_real_named") if getattr(check, name)]
    assert seen == ([meaning] if meaning else [])


@pytest.mark.parametrize("answer", [{"errcode": 0}, {"verify_openid": ""},
                                    {"verify_openid": ";"}, {"verify_openid": 1}])
def test_an_answer_without_a_verdict_has_none(answer: dict) -> None:
    assert RealNameCheck.from_answer(answer) is None


def test_a_verdict_prints_its_result_codes_only() -> None:
    assert str(verdict("V_OP_NM_MA", "V_NM_ID_UM")) == "V_OP_NM_MA V_NM_ID_UM"
    assert str(verdict("V_OP_NA")) == "V_OP_NA"


# --- the client against the stub ------------------------------------------------------------


@pytest.fixture(scope="module")
def served() -> Iterator[StubServer]:
    with serve_stub() as server:
        yield server


@pytest.fixture
def client(served: StubServer) -> WeChatClient:
    served.state.reset()
    return make_client(served.url)


def consent(stub: StubServer, openid: str = "o-alice", name: str | None = "李明",
            id_number: str = NUMBER) -> str:
    """WeChat knows openid by name and number (no record if name is None); its consent code."""
    if name is not None:
        control(stub, "PUT", "/real-names", openid=openid, name=name, id_number=id_number)
    return control(stub, "POST", "/real-name-codes", openid=openid)["code"]


@pytest.mark.parametrize(("wechat_name", "wechat_number", "meaning"), [
    ("李明", NUMBER, "matches"), ("李明", OTHER_NUMBER, "mismatch"),
    ("王芳", NUMBER, "mismatch"), (None, NUMBER, "not_real_named"),
])
def test_the_check_asks_about_the_users_name_and_number_and_reads_the_verdict(
        served: StubServer, client: WeChatClient, wechat_name: str | None, wechat_number: str,
        meaning: str) -> None:
    code = consent(served, name=wechat_name, id_number=wechat_number)
    check = client.check_real_name_info("o-alice", "李明", NUMBER, code)
    assert getattr(check, meaning)


def test_a_used_consent_code_raises_real_name_code_invalid(
        served: StubServer, client: WeChatClient) -> None:
    code = consent(served)
    client.check_real_name_info("o-alice", "李明", NUMBER, code)
    with pytest.raises(RealNameCodeInvalid) as caught:
        client.check_real_name_info("o-alice", "李明", NUMBER, code)
    assert caught.value.errcode == 80113
    assert code not in str(caught.value)


def test_the_check_refreshes_an_expired_token_once(
        served: StubServer, client: WeChatClient) -> None:
    code = consent(served)
    client.access_token()
    control(served, "POST", "/tokens/expire")
    assert client.check_real_name_info("o-alice", "李明", NUMBER, code).matches
    assert (calls(served, REAL_NAME), calls(served, STABLE_TOKEN)) == (2, 2)


def test_a_busy_wechat_is_retried_then_reported(served: StubServer, client: WeChatClient) -> None:
    fail_next(served, REAL_NAME, errcode=-1)
    assert client.check_real_name_info("o-alice", "李明", NUMBER, consent(served)).matches
    fail_next(served, REAL_NAME, errcode=-1, count=3)
    with pytest.raises(WeChatBusy):
        client.check_real_name_info("o-alice", "李明", NUMBER, consent(served))
    assert calls(served, REAL_NAME) == 5


def test_names_numbers_codes_and_tokens_never_reach_the_logs(
        served: StubServer, client: WeChatClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    code = consent(served)
    fail_next(served, REAL_NAME, errcode=-1)
    client.check_real_name_info("o-alice", "李明", NUMBER, code)
    with pytest.raises(RealNameCodeInvalid):
        client.check_real_name_info("o-alice", "李明", NUMBER, code)

    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    assert any("attempt 1 of 3" in record.getMessage() for record in caplog.records)
    for secret in ("李明", NUMBER, code, client.access_token()):
        assert secret not in logged
