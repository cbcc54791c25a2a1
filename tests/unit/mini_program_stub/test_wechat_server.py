"""The WeChat server stub answers as the real API does, and its controls drive every branch."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from app.seed.identity import demo_id_number
from mini_program_stub import wechat_server
from mini_program_stub.real_name import real_names
from mini_program_stub.subscribe_values import value_is_valid
from mini_program_stub.wechat_server import StubServer, create_stub_app, stub_state

APPID = "wx-test-appid"
SECRET = "wx-test-secret"
START = 1_763_800_000.0  # a fixed moment, so day boundaries do not depend on when tests run
SEND = "/cgi-bin/message/subscribe/send"
SEC_CHECK = "/wxa/msg_sec_check"
ALL_TYPES_KEYS = [
    "thing1", "number2", "letter3", "symbol4", "character_string5", "time6", "date7",
    "amount8", "phone_number9", "car_number10", "name11", "phrase12",
]
GOOD_VALUES = {
    "thing1": "营业执照办理", "number2": "12.5", "letter3": "ABC", "symbol4": "#%",
    "character_string5": "HZ-2026-000123", "time6": "2026-11-22 15:01", "date7": "2026年11月22日",
    "amount8": "¥123.45", "phone_number9": "+86-0571-88888888", "car_number10": "浙A12345",
    "name11": "张三", "phrase12": "办理中",
}


@pytest.fixture
def stub_app() -> Flask:
    return create_stub_app(APPID, SECRET, clock=lambda: START)


@pytest.fixture
def stub(stub_app: Flask) -> FlaskClient:
    return stub_app.test_client()


# --- helpers --------------------------------------------------------------------------------


def mint_code(stub: FlaskClient, openid: str = "o-alice", **extra: Any) -> str:
    response = stub.post("/_stub/codes", json={"openid": openid, **extra})
    assert response.status_code == 201
    return response.get_json()["code"]


def log_in(stub: FlaskClient, code: str, **overrides: str) -> dict[str, Any]:
    params = {"appid": APPID, "secret": SECRET, "js_code": code,
              "grant_type": "authorization_code", **overrides}
    response = stub.get("/sns/jscode2session", query_string=params)
    assert response.status_code == 200
    return response.get_json()


def fetch_token(stub: FlaskClient, **overrides: str) -> dict[str, Any]:
    params = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET, **overrides}
    return stub.get("/cgi-bin/token", query_string=params).get_json()


def fetch_stable_token(stub: FlaskClient, **overrides: Any) -> dict[str, Any]:
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET,
            "force_refresh": False, **overrides}
    return stub.post("/cgi-bin/stable_token", json=body).get_json()


def token(stub: FlaskClient) -> str:
    return fetch_token(stub)["access_token"]


def advance(stub: FlaskClient, seconds: float) -> None:
    assert stub.post("/_stub/clock", json={"advance_seconds": seconds}).status_code == 200


def subscribe(stub: FlaskClient, openid: str, template_id: str, credits: int) -> None:
    body = {"openid": openid, "template_id": template_id, "credits": credits}
    assert stub.put("/_stub/subscriptions", json=body).status_code == 200


def case_progress(touser: str = "o-alice", **overrides: Any) -> dict[str, Any]:
    message = {
        "touser": touser, "template_id": "tpl-case-progress", "page": "pages/case/detail?no=1",
        "data": {"character_string1": {"value": "HZ-2026-000123"},
                 "thing2": {"value": "材料已受理"}, "phrase3": {"value": "办理中"},
                 "time4": {"value": "2026-11-22 15:01"}},
        "miniprogram_state": "formal", "lang": "zh_CN",
    }
    return {**message, **overrides}


def send(stub: FlaskClient, access_token: str | None, body: Any) -> dict[str, Any]:
    query = {} if access_token is None else {"access_token": access_token}
    response = stub.post(SEND, query_string=query, json=body)
    assert response.status_code == 200
    return response.get_json()


def sec_check(stub: FlaskClient, access_token: str | None, **overrides: Any) -> dict[str, Any]:
    query = {} if access_token is None else {"access_token": access_token}
    body = {"version": 2, "openid": "o-alice", "scene": 2, "content": "办事很快，谢谢", **overrides}
    return stub.post(SEC_CHECK, query_string=query, json=body).get_json()


def errcode_of(answer: dict[str, Any]) -> int | None:
    return answer.get("errcode")


@pytest.fixture
def alice_token(stub: FlaskClient) -> str:
    """A known user o-alice with one credit for tpl-case-progress, and a valid token."""
    mint_code(stub, "o-alice")
    subscribe(stub, "o-alice", "tpl-case-progress", 1)
    return token(stub)


# --- code2Session ---------------------------------------------------------------------------


def test_code_exchanges_for_openid_session_key_and_unionid(stub: FlaskClient) -> None:
    answer = log_in(stub, mint_code(stub, "o-alice", unionid="u-alice"))

    assert "errcode" not in answer
    assert answer["openid"] == "o-alice"
    assert answer["unionid"] == "u-alice"
    assert len(base64.b64decode(answer["session_key"], validate=True)) == 16


def test_unionid_is_absent_when_the_app_has_none(stub: FlaskClient) -> None:
    assert "unionid" not in log_in(stub, mint_code(stub, "o-bob"))


def test_each_login_issues_a_new_session_key(stub: FlaskClient, stub_app: Flask) -> None:
    first = log_in(stub, mint_code(stub))["session_key"]
    assert stub_state(stub_app).session_key("o-alice") == first

    second = log_in(stub, mint_code(stub))["session_key"]

    assert second != first
    assert stub_state(stub_app).session_key("o-alice") == second


@pytest.mark.parametrize(
    ("overrides", "errcode", "errmsg"),
    [
        ({"appid": "wx-other"}, 40013, "invalid appid"),
        ({"secret": "wrong"}, 40125, "invalid appsecret"),
        ({"grant_type": "client_credential"}, 40002, "invalid grant_type"),
        ({"js_code": "never-minted"}, 40029, "invalid code"),
    ],
)
def test_login_with_wrong_arguments_is_refused(
    stub: FlaskClient, overrides: dict[str, str], errcode: int, errmsg: str
) -> None:
    answer = log_in(stub, mint_code(stub), **overrides)

    assert answer == {"errcode": errcode, "errmsg": errmsg}


def test_code_cannot_be_used_twice(stub: FlaskClient) -> None:
    code = mint_code(stub)
    log_in(stub, code)

    assert log_in(stub, code) == {"errcode": 40163, "errmsg": "code been used"}


def test_code_expires_five_minutes_after_minting(stub: FlaskClient) -> None:
    fresh, stale = mint_code(stub), mint_code(stub)
    advance(stub, 299)
    assert log_in(stub, fresh)["openid"] == "o-alice"

    advance(stub, 1)

    assert log_in(stub, stale) == {"errcode": 40029, "errmsg": "invalid code"}


def test_blocked_user_cannot_log_in(stub: FlaskClient) -> None:
    code = mint_code(stub, "o-risky")
    stub.post("/_stub/blocked", json={"openid": "o-risky"})

    assert log_in(stub, code) == {"errcode": 40226, "errmsg": "code blocked"}


def test_more_than_100_logins_a_minute_reach_the_quota(stub: FlaskClient) -> None:
    for _ in range(100):
        assert "openid" in log_in(stub, mint_code(stub))
    code = mint_code(stub)

    assert log_in(stub, code) == {"errcode": 45011, "errmsg": "api minute-quota reach limit"}
    advance(stub, 60)
    assert log_in(stub, code)["openid"] == "o-alice"


# --- access tokens --------------------------------------------------------------------------


def test_token_is_a_long_url_safe_string_valid_for_7200_seconds(stub: FlaskClient) -> None:
    answer = fetch_token(stub)

    assert set(answer) == {"access_token", "expires_in"}
    assert answer["expires_in"] == 7200
    assert len(answer["access_token"]) >= 150
    assert set(answer["access_token"]) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )


@pytest.mark.parametrize(
    ("overrides", "errcode"),
    [({"appid": "wx-other"}, 40013), ({"secret": "wrong"}, 40125), ({"grant_type": "x"}, 40002)],
)
def test_token_with_wrong_arguments_is_refused(
    stub: FlaskClient, overrides: dict[str, str], errcode: int
) -> None:
    assert errcode_of(fetch_token(stub, **overrides)) == errcode


def test_new_token_keeps_the_previous_one_working_for_five_minutes_only(
    stub: FlaskClient, alice_token: str
) -> None:
    newer = token(stub)
    advance(stub, 299)
    assert sec_check(stub, alice_token)["errcode"] == 0

    advance(stub, 1)

    assert sec_check(stub, alice_token)["errcode"] == 40001
    assert sec_check(stub, newer)["errcode"] == 0


def test_token_expires_after_7200_seconds(stub: FlaskClient, alice_token: str) -> None:
    advance(stub, 7200)

    assert sec_check(stub, alice_token) == {"errcode": 42001, "errmsg": "access_token expired"}


def test_token_endpoint_has_a_daily_quota(stub: FlaskClient, stub_app: Flask) -> None:
    stub_state(stub_app).token_daily_quota = 3
    for _ in range(3):
        assert "access_token" in fetch_token(stub)

    assert errcode_of(fetch_token(stub)) == 45009
    advance(stub, 86400)
    assert "access_token" in fetch_token(stub)


def test_stable_token_is_the_same_while_valid_with_the_remaining_lifetime(
    stub: FlaskClient,
) -> None:
    first = fetch_stable_token(stub)
    advance(stub, 1000)

    again = fetch_stable_token(stub)

    assert first["expires_in"] == 7200
    assert again == {"access_token": first["access_token"], "expires_in": 6200}


def test_stable_token_is_renewed_once_expired(stub: FlaskClient) -> None:
    first = fetch_stable_token(stub)["access_token"]
    advance(stub, 7200)

    renewed = fetch_stable_token(stub)

    assert renewed["access_token"] != first
    assert renewed["expires_in"] == 7200


def test_forced_refresh_issues_a_new_stable_token_and_kills_the_old_one(
    stub: FlaskClient,
) -> None:
    mint_code(stub)
    old = fetch_stable_token(stub)["access_token"]

    new = fetch_stable_token(stub, force_refresh=True)["access_token"]

    assert new != old
    assert sec_check(stub, old)["errcode"] == 40001
    assert sec_check(stub, new)["errcode"] == 0


def test_forced_refresh_within_30_seconds_is_too_frequent(stub: FlaskClient) -> None:
    fetch_stable_token(stub, force_refresh=True)
    advance(stub, 29)
    assert errcode_of(fetch_stable_token(stub, force_refresh=True)) == 45011

    advance(stub, 1)

    assert "access_token" in fetch_stable_token(stub, force_refresh=True)


def test_forced_refresh_is_allowed_20_times_a_day(stub: FlaskClient) -> None:
    for _ in range(20):
        assert "access_token" in fetch_stable_token(stub, force_refresh=True)
        advance(stub, 30)

    assert errcode_of(fetch_stable_token(stub, force_refresh=True)) == 45009


@pytest.mark.parametrize(
    ("overrides", "errcode"),
    [
        ({"appid": "wx-other"}, 40013),
        ({"secret": "wrong"}, 40125),
        ({"grant_type": "authorization_code"}, 40002),
        ({"force_refresh": "yes"}, 47001),
    ],
)
def test_stable_token_with_wrong_arguments_is_refused(
    stub: FlaskClient, overrides: dict[str, Any], errcode: int
) -> None:
    assert errcode_of(fetch_stable_token(stub, **overrides)) == errcode


def test_stable_token_needs_a_json_body(stub: FlaskClient) -> None:
    answer = stub.post("/cgi-bin/stable_token", data="not json").get_json()

    assert answer == {"errcode": 47001, "errmsg": "data format error"}


def test_stable_and_plain_tokens_do_not_replace_each_other(stub: FlaskClient) -> None:
    mint_code(stub)
    stable = fetch_stable_token(stub)["access_token"]
    plain = token(stub)
    token(stub)
    advance(stub, 300)

    assert sec_check(stub, stable)["errcode"] == 0
    assert sec_check(stub, plain)["errcode"] == 40001
    assert fetch_stable_token(stub)["access_token"] == stable


@pytest.mark.parametrize("path", [SEND, SEC_CHECK])
def test_api_call_without_a_token_is_refused(stub: FlaskClient, path: str) -> None:
    answer = stub.post(path, json={}).get_json()

    assert answer == {"errcode": 41001, "errmsg": "access_token missing"}


@pytest.mark.parametrize("path", [SEND, SEC_CHECK])
def test_api_call_with_an_unknown_token_is_refused(stub: FlaskClient, path: str) -> None:
    answer = stub.post(path, query_string={"access_token": "forged"}, json={}).get_json()

    assert answer == {
        "errcode": 40001,
        "errmsg": "invalid credential, access_token is invalid or not latest",
    }


def test_expiring_tokens_by_control_gives_42001_until_a_new_token(
    stub: FlaskClient, alice_token: str
) -> None:
    stable = fetch_stable_token(stub)["access_token"]
    stub.post("/_stub/tokens/expire")

    assert send(stub, alice_token, case_progress())["errcode"] == 42001
    assert sec_check(stub, stable)["errcode"] == 42001
    assert send(stub, token(stub), case_progress())["errcode"] == 0
    assert fetch_stable_token(stub)["access_token"] != stable


def test_invalidating_tokens_by_control_gives_40001(stub: FlaskClient, alice_token: str) -> None:
    stub.post("/_stub/tokens/invalidate")

    assert send(stub, alice_token, case_progress())["errcode"] == 40001
    assert send(stub, token(stub), case_progress())["errcode"] == 0


# --- subscribe messages ---------------------------------------------------------------------


def test_accepted_messages_are_recorded_with_increasing_msgids(stub: FlaskClient) -> None:
    mint_code(stub, "o-alice")
    mint_code(stub, "o-bob")
    subscribe(stub, "o-alice", "tpl-case-progress", 2)
    subscribe(stub, "o-bob", "tpl-case-progress", 1)
    access_token = token(stub)

    answers = [send(stub, access_token, case_progress(touser))
               for touser in ("o-alice", "o-bob", "o-alice")]

    assert [a["errmsg"] for a in answers] == ["ok", "ok", "ok"]
    assert answers[0]["msgid"] < answers[1]["msgid"] < answers[2]["msgid"]
    listed = stub.get("/_stub/messages", query_string={"touser": "o-alice"}).get_json()
    assert [m["msgid"] for m in listed["messages"]] == [answers[0]["msgid"], answers[2]["msgid"]]
    first = listed["messages"][0]
    assert first["template_id"] == "tpl-case-progress"
    assert first["page"] == "pages/case/detail?no=1"
    assert first["data"]["phrase3"] == {"value": "办理中"}
    assert first["at"] == START
    assert len(stub.get("/_stub/messages").get_json()["messages"]) == 3


def test_message_to_an_unknown_openid_is_refused(stub: FlaskClient, alice_token: str) -> None:
    answer = send(stub, alice_token, case_progress("o-stranger"))

    assert answer == {"errcode": 40003, "errmsg": "invalid openid"}


def test_message_with_an_unknown_template_is_refused(stub: FlaskClient, alice_token: str) -> None:
    answer = send(stub, alice_token, case_progress(template_id="tpl-nope"))

    assert answer == {"errcode": 40037, "errmsg": "invalid template_id"}


@pytest.mark.parametrize(
    "page", ["/pages/index", "https://example.com/x", "weixin://dl/x", "pages/a b", "pages/\tx", 7]
)
def test_message_page_must_be_a_relative_mini_program_path(
    stub: FlaskClient, alice_token: str, page: Any
) -> None:
    answer = send(stub, alice_token, case_progress(page=page))

    assert answer == {"errcode": 41030, "errmsg": "invalid page"}


def test_message_page_may_be_left_out(stub: FlaskClient, alice_token: str) -> None:
    message = case_progress()
    del message["page"]

    assert send(stub, alice_token, message)["errcode"] == 0


@pytest.mark.parametrize(
    ("change", "bad_key"),
    [
        ({"extra9": {"value": "x"}}, "extra9"),
        ({"thing2": None}, "thing2"),
        ({"thing2": {"value": "这是一个超过二十个字符的事项说明文字啊啊啊"}}, "thing2"),
        ({"phrase3": {"value": "ok"}}, "phrase3"),
        ({"time4": {"value": "25:00"}}, "time4"),
        ({"time4": {"value": 1501}}, "time4"),
    ],
)
def test_message_data_out_of_the_template_limits_names_the_key(
    stub: FlaskClient, alice_token: str, change: dict[str, Any], bad_key: str
) -> None:
    message = case_progress()
    data = {**message["data"], **change}
    message["data"] = {key: value for key, value in data.items() if value is not None}

    answer = send(stub, alice_token, message)

    assert answer == {"errcode": 47003, "errmsg": f"argument invalid! data.{bad_key}.value invalid"}


def test_message_without_data_names_the_first_template_key(
    stub: FlaskClient, alice_token: str
) -> None:
    answer = send(stub, alice_token, case_progress(data="oops"))

    assert answer["errmsg"] == "argument invalid! data.character_string1.value invalid"


def test_message_body_that_is_not_json_is_a_format_error(
    stub: FlaskClient, alice_token: str
) -> None:
    response = stub.post(SEND, query_string={"access_token": alice_token}, data="{broken")

    assert response.get_json() == {"errcode": 47001, "errmsg": "data format error"}


@pytest.mark.parametrize("key", ALL_TYPES_KEYS)
def test_every_value_type_is_checked_when_sending(stub: FlaskClient, key: str) -> None:
    stub.post("/_stub/templates", json={"template_id": "tpl-all", "keys": ALL_TYPES_KEYS,
                                        "long_term": True})
    mint_code(stub)
    subscribe(stub, "o-alice", "tpl-all", 1)
    access_token = token(stub)
    message = {"touser": "o-alice", "template_id": "tpl-all",
               "data": {k: {"value": v} for k, v in GOOD_VALUES.items()}}
    assert send(stub, access_token, message)["errcode"] == 0

    message["data"][key] = {"value": "\n"}
    answer = send(stub, access_token, message)

    assert answer["errmsg"] == f"argument invalid! data.{key}.value invalid"


@pytest.mark.parametrize(
    ("key", "good", "bad"),
    [
        ("thing1", ["a" * 20, "第3号窗口"], ["a" * 21, "", "两行\n文字"]),
        ("number1", ["1" * 32, "3.14", "0"], ["1" * 33, "-1", "1.2.3", "1e5", "１２"]),
        ("letter1", ["a" * 32, "AbC"], ["a" * 33, "ab1", "字"]),
        ("symbol1", ["#", "%%%%%"], ["%%%%%%", "a", "1"]),
        ("character_string1", ["A-1_b/2", "x" * 32], ["x" * 33, "有中文", "a b"]),
        ("time1", ["15:01", "00:00", "2026-11-22 23:59", "2026年11月22日 08:30"],
         ["24:00", "15:60", "3:01", "2026-13-01 15:01", "2026-11-22T15:01", "15:01:00"]),
        ("date1", ["2026-11-22", "2024-02-29", "2026年01月05日"],
         ["2026-02-30", "2025-02-29", "22/11/2026", "2026-1-5", "2026-11-22 15:01"]),
        ("amount1", ["¥1", "$1234567890.99", "￥12.50元"],
         ["12", "¥12345678901", "¥1.5", "€1", "¥-1"]),
        ("phone_number1", ["+86-0766-66888866", "1" * 17], ["1" * 18, "(0571)8888", "tel"]),
        ("car_number1", ["浙A12345", "粤A8Z888挂", "AB123"], ["浙A1234567", "浙A 12345", "A浙1"]),
        ("name1", ["张三", "阿卜杜拉·买买提", "Li Lei", "a" * 20, "张Three"],
         ["张" * 11, "a" * 21, "Li1", ""]),
        ("phrase1", ["办理中", "已办结完成"], ["已办结完成了", "ok", "办理中!"]),
    ],
)
def test_value_limits_follow_the_key_type(key: str, good: list[str], bad: list[str]) -> None:
    assert [value for value in good if not value_is_valid(key, value)] == []
    assert [value for value in bad if value_is_valid(key, value)] == []


def test_one_time_template_allows_one_send_per_credit(
    stub: FlaskClient, alice_token: str
) -> None:
    assert send(stub, alice_token, case_progress())["errcode"] == 0

    answer = send(stub, alice_token, case_progress())

    assert answer == {"errcode": 43101, "errmsg": "user refuse to accept the msg"}
    listed = stub.get("/_stub/subscriptions", query_string={"openid": "o-alice"}).get_json()
    assert listed["subscriptions"] == [{"openid": "o-alice", "template_id": "tpl-case-progress",
                                        "credits": 0, "long_term": False}]


def test_user_without_consent_refuses_the_message(stub: FlaskClient) -> None:
    mint_code(stub)
    subscribe(stub, "o-alice", "tpl-case-progress", 0)

    assert send(stub, token(stub), case_progress())["errcode"] == 43101


def test_data_is_checked_before_consent(stub: FlaskClient) -> None:
    mint_code(stub)

    answer = send(stub, token(stub), case_progress(template_id="tpl-cert-expiry"))

    assert answer["errmsg"] == "argument invalid! data.character_string1.value invalid"


def test_long_term_template_never_runs_out_after_consent(stub: FlaskClient) -> None:
    mint_code(stub)
    access_token = token(stub)
    reminder = {"touser": "o-alice", "template_id": "tpl-service-reminder",
                "data": {"thing1": {"value": "预约提醒"}, "thing2": {"value": "市民中心"},
                         "date3": {"value": "2026-11-23"}}}
    assert send(stub, access_token, reminder)["errcode"] == 43101
    subscribe(stub, "o-alice", "tpl-service-reminder", 1)

    answers = [send(stub, access_token, reminder)["errcode"] for _ in range(5)]

    assert answers == [0] * 5


def test_subscribing_makes_the_openid_known(stub: FlaskClient) -> None:
    subscribe(stub, "o-carol", "tpl-case-progress", 1)

    assert send(stub, token(stub), case_progress("o-carol"))["errcode"] == 0


# --- text security check --------------------------------------------------------------------


def test_ordinary_text_passes(stub: FlaskClient, alice_token: str) -> None:
    answer = sec_check(stub, alice_token)

    assert answer["errcode"] == 0
    assert answer["errmsg"] == "ok"
    assert answer["result"] == {"suggest": "pass", "label": 100}
    assert answer["trace_id"]
    assert answer["detail"][0]["strategy"] == "content_model"


def test_text_with_a_risky_word_is_risky(stub: FlaskClient, alice_token: str) -> None:
    answer = sec_check(stub, alice_token, content="可以代开发票，联系我")

    assert answer["result"] == {"suggest": "risky", "label": 20006}
    assert {"strategy": "keyword", "keyword": "代开发票"}.items() <= answer["detail"][1].items()


def test_text_with_a_doubtful_word_goes_to_review(stub: FlaskClient, alice_token: str) -> None:
    assert sec_check(stub, alice_token, content="有事加微信")["result"]["suggest"] == "review"


@pytest.mark.parametrize(
    "overrides",
    [{"version": 1}, {"version": "2"}, {"scene": 0}, {"scene": 5}, {"scene": True},
     {"content": "字" * 2501}, {"content": None}, {"openid": ""}],
)
def test_text_check_with_malformed_arguments_is_a_format_error(
    stub: FlaskClient, alice_token: str, overrides: dict[str, Any]
) -> None:
    assert sec_check(stub, alice_token, **overrides) == {"errcode": 47001,
                                                         "errmsg": "data format error"}


def test_text_check_accepts_2500_characters(stub: FlaskClient, alice_token: str) -> None:
    assert sec_check(stub, alice_token, content="字" * 2500)["errcode"] == 0


def test_text_check_for_an_unknown_openid_is_refused(stub: FlaskClient, alice_token: str) -> None:
    assert sec_check(stub, alice_token, openid="o-stranger")["errcode"] == 40003


# --- failure injection ----------------------------------------------------------------------


def test_injected_failure_answers_the_next_calls_then_stops(stub: FlaskClient) -> None:
    response = stub.post("/_stub/failures", json={"path": "/sns/jscode2session",
                                                  "errcode": -1, "count": 2})
    assert response.status_code == 201
    code = mint_code(stub)

    answers = [log_in(stub, code) for _ in range(3)]

    assert answers[:2] == [{"errcode": -1, "errmsg": "system error"}] * 2
    assert answers[2]["openid"] == "o-alice"


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/sns/jscode2session"), ("get", "/cgi-bin/token"), ("post", "/cgi-bin/stable_token"),
     ("post", SEND), ("post", SEC_CHECK), ("post", "/intp/realname/checkrealnameinfo")],
)
def test_failures_can_be_injected_on_every_wechat_path(
    stub: FlaskClient, method: str, path: str
) -> None:
    stub.post("/_stub/failures", json={"path": path, "errcode": 40164})

    answer = getattr(stub, method)(path, json={}).get_json()

    assert answer == {"errcode": 40164, "errmsg": "invalid ip, not in whitelist"}


def test_injected_5xx_answers_a_non_json_page(stub: FlaskClient) -> None:
    stub.post("/_stub/failures", json={"path": "/cgi-bin/token", "http_status": 502})

    response = stub.get("/cgi-bin/token")

    assert response.status_code == 502
    assert response.mimetype == "text/html"
    assert b"502 Bad Gateway" in response.data
    assert "access_token" in fetch_token(stub)


def test_calls_are_counted_per_path_failures_included(stub: FlaskClient) -> None:
    stub.post("/_stub/failures", json={"path": "/cgi-bin/token", "errcode": -1})
    fetch_token(stub)
    fetch_token(stub)
    fetch_stable_token(stub)

    calls = stub.get("/_stub/calls").get_json()["calls"]

    assert calls == {"/cgi-bin/token": 2, "/cgi-bin/stable_token": 1}


# --- controls -------------------------------------------------------------------------------


def test_reset_goes_back_to_defaults(stub: FlaskClient, alice_token: str) -> None:
    stub.post("/_stub/templates", json={"template_id": "tpl-extra", "keys": ["thing1"]})
    send(stub, alice_token, case_progress())
    advance(stub, 500)

    assert stub.post("/_stub/reset").status_code == 200

    assert stub.get("/_stub/messages").get_json() == {"messages": []}
    assert stub.get("/_stub/subscriptions").get_json() == {"subscriptions": []}
    assert stub.get("/_stub/calls").get_json() == {"calls": {}}
    assert send(stub, alice_token, case_progress())["errcode"] == 40001
    mint_code(stub)
    assert send(stub, token(stub), case_progress(template_id="tpl-extra"))["errcode"] == 40037
    assert stub.post("/_stub/clock", json={"advance_seconds": 0}).get_json() == {"now": START}


def test_template_added_by_control_can_be_sent(stub: FlaskClient) -> None:
    response = stub.post("/_stub/templates", json={"template_id": "tpl-queue", "keys": ["number1"]})
    assert response.status_code == 201
    subscribe(stub, "o-alice", "tpl-queue", 1)

    message = {"touser": "o-alice", "template_id": "tpl-queue", "data": {"number1": {"value": "7"}}}

    assert send(stub, token(stub), message)["errcode"] == 0


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/_stub/codes", None),
        ("post", "/_stub/codes", {"openid": ""}),
        ("post", "/_stub/codes", {"openid": 5}),
        ("put", "/_stub/subscriptions", {"openid": "o-a", "template_id": "tpl-nope", "credits": 1}),
        ("put", "/_stub/subscriptions",
         {"openid": "o-a", "template_id": "tpl-case-progress", "credits": -1}),
        ("put", "/_stub/subscriptions",
         {"openid": "o-a", "template_id": "tpl-case-progress", "credits": True}),
        ("post", "/_stub/templates", {"template_id": "t", "keys": ["colour1"]}),
        ("post", "/_stub/templates", {"template_id": "t", "keys": []}),
        ("post", "/_stub/templates", {"template_id": "t", "keys": ["thing1", "thing1"]}),
        ("post", "/_stub/templates", {"template_id": "t", "keys": [1]}),
        ("post", "/_stub/templates", {"template_id": "t", "keys": ["thing1"], "long_term": 1}),
        ("post", "/_stub/failures", {"path": "/nope", "errcode": -1}),
        ("post", "/_stub/failures", {"path": "/cgi-bin/token", "errcode": 0}),
        ("post", "/_stub/failures", {"path": "/cgi-bin/token", "count": 0}),
        ("post", "/_stub/failures", {"path": "/cgi-bin/token", "http_status": 700}),
        ("post", "/_stub/blocked", {}),
        ("post", "/_stub/clock", {"advance_seconds": -1}),
        ("post", "/_stub/clock", {"advance_seconds": "1"}),
        ("post", "/_stub/clock", [1]),
    ],
)
def test_control_endpoints_refuse_wrong_json(
    stub: FlaskClient, method: str, path: str, body: Any
) -> None:
    if body is None:
        response = getattr(stub, method)(path, data="not json", content_type="application/json")
    else:
        response = getattr(stub, method)(path, json=body)

    assert response.status_code == 400
    assert response.get_json()["message"]


# --- serving over real HTTP -----------------------------------------------------------------


@pytest.fixture
def served() -> Iterator[StubServer]:
    with StubServer(create_stub_app(APPID, SECRET)) as server:
        yield server


def test_stub_talks_over_real_http(served: StubServer) -> None:
    base = served.url
    code = requests.post(f"{base}/_stub/codes", json={"openid": "o-http"}, timeout=5).json()["code"]
    session = requests.get(f"{base}/sns/jscode2session", timeout=5, params={
        "appid": APPID, "secret": SECRET, "js_code": code, "grant_type": "authorization_code"})
    requests.put(f"{base}/_stub/subscriptions", timeout=5, json={
        "openid": "o-http", "template_id": "tpl-case-progress", "credits": 1})
    access = requests.post(f"{base}/cgi-bin/stable_token", timeout=5, json={
        "grant_type": "client_credential", "appid": APPID, "secret": SECRET}).json()

    sent = requests.post(f"{base}{SEND}", params={"access_token": access["access_token"]},
                         json=case_progress("o-http"), timeout=5)

    assert base.startswith("http://127.0.0.1:")
    assert session.headers["Content-Type"] == "application/json"
    assert session.json()["openid"] == "o-http"
    assert sent.status_code == 200
    assert sent.json()["errcode"] == 0
    assert served.state.messages("o-http")[0]["msgid"] == sent.json()["msgid"]


def test_stub_serves_concurrent_logins(served: StubServer) -> None:
    codes = [served.state.mint_code(f"o-user-{n}") for n in range(16)]
    openids: list[str] = []

    def log_in_over_http(code: str) -> None:
        answer = requests.get(f"{served.url}/sns/jscode2session", timeout=5, params={
            "appid": APPID, "secret": SECRET, "js_code": code,
            "grant_type": "authorization_code"}).json()
        openids.append(answer["openid"])

    threads = [threading.Thread(target=log_in_over_http, args=(code,)) for code in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(openids) == sorted(f"o-user-{n}" for n in range(16))
    assert served.state.call_counts() == {"/sns/jscode2session": 16}


def test_stopped_server_refuses_connections() -> None:
    server = StubServer()
    url = server.url
    assert requests.get(f"{url}/_stub/calls", timeout=5).json() == {"calls": {}}

    server.stop()
    server.stop()

    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/_stub/calls", timeout=5)


def test_main_serves_on_the_configured_port_with_the_configured_app(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served: dict[str, Any] = {}

    class FakeServer:
        port = 6123

        def serve_forever(self) -> None:
            served["forever"] = True

    def fake_make_server(host: str, port: int, app: Flask, threaded: bool,
                         **options: Any) -> FakeServer:
        served.update(host=host, port=port, app=app, threaded=threaded)
        return FakeServer()

    monkeypatch.setattr(wechat_server, "make_server", fake_make_server)
    monkeypatch.setenv("WECHAT_STUB_PORT", "6123")
    monkeypatch.setenv("WECHAT_APPID", "wx-env-appid")
    monkeypatch.setenv("WECHAT_SECRET", "wx-env-secret")

    wechat_server.main([])

    assert capsys.readouterr().out == "WeChat stub serving on http://127.0.0.1:6123\n"
    assert served["host"] == "127.0.0.1"
    assert served["port"] == 6123
    assert served["threaded"] is True
    assert served["forever"] is True
    assert stub_state(served["app"]).appid == "wx-env-appid"
    assert stub_state(served["app"]).secret == "wx-env-secret"
    records = real_names(served["app"])  # the demo people can real-name
    code = records.mint_code("demo-citizen-1")
    assert records.check("demo-citizen-1", "李明", demo_id_number("demo-citizen-1"), code)[1] == (
        "V_NM_ID_MA")
    wechat_server.main(["--port", "6200"])
    assert served["port"] == 6200
