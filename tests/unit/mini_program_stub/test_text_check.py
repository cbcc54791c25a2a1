"""The stub's text security check: a verdict fixed by the words in the text, and its record."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mini_program_stub.wechat_server import create_stub_app
from mini_program_stub.wechat_state import RISKY_WORDS

APPID = "wx-test-appid"
SECRET = "wx-test-secret"
START = 1_763_800_000.0
SEC_CHECK = "/wxa/msg_sec_check"
GOOD_COMMENT = "办事很快，谢谢"


@pytest.fixture
def stub_app() -> Flask:
    return create_stub_app(APPID, SECRET, clock=lambda: START)


@pytest.fixture
def stub(stub_app: Flask) -> FlaskClient:
    return stub_app.test_client()


def known_user(stub: FlaskClient, openid: str) -> None:
    assert stub.post("/_stub/codes", json={"openid": openid}).status_code == 201


@pytest.fixture
def access_token(stub: FlaskClient) -> str:
    """A valid access token, with o-alice and o-bob users of the mini program."""
    known_user(stub, "o-alice")
    known_user(stub, "o-bob")
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    return stub.post("/cgi-bin/stable_token", json=body).get_json()["access_token"]


def sec_check(stub: FlaskClient, access_token: str | None, content: str = GOOD_COMMENT,
              **overrides: Any) -> dict[str, Any]:
    query = {} if access_token is None else {"access_token": access_token}
    body = {"version": 2, "openid": "o-alice", "scene": 2, "content": content, **overrides}
    response = stub.post(SEC_CHECK, query_string=query, json=body)
    assert response.status_code == 200
    return response.get_json()


def text_checks(stub: FlaskClient, **query: str) -> list[dict[str, Any]]:
    response = stub.get("/_stub/text-checks", query_string=query)
    assert response.status_code == 200
    return response.get_json()["text_checks"]


# --- verdicts -------------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "suggest", "label"), [
    (GOOD_COMMENT, "pass", 100),
    ("评价里有违规词", "risky", 20001),
    ("工作人员是狗东西", "risky", 20003),
    ("傻逼窗口", "risky", 20003),
    ("这条待复核", "review", 21000),
    ("违规词也待复核", "risky", 20001),  # risky outweighs review
])
def test_the_verdict_follows_the_words_in_the_text(
        stub: FlaskClient, access_token: str, content: str, suggest: str, label: int) -> None:
    answer = sec_check(stub, access_token, content)

    assert (answer["errcode"], answer["errmsg"]) == (0, "ok")
    assert answer["result"] == {"suggest": suggest, "label": label}


def test_a_blocked_word_is_named_in_the_keyword_detail(
        stub: FlaskClient, access_token: str) -> None:
    detail = sec_check(stub, access_token, "评价里有违规词")["detail"]

    assert {"strategy": "keyword", "suggest": "risky", "label": 20001,
            "keyword": "违规词"}.items() <= detail[1].items()


def test_every_blocked_word_carries_a_label_wechat_documents() -> None:
    assert set(RISKY_WORDS.values()) <= {10001, 20001, 20002, 20003, 20006, 20008, 21000}


# --- the access token and injected failures -------------------------------------------------


def test_the_check_needs_an_access_token(stub: FlaskClient, access_token: str) -> None:
    assert sec_check(stub, None)["errcode"] == 41001
    assert sec_check(stub, "not-a-token")["errcode"] == 40001
    assert text_checks(stub) == []


def test_an_expired_token_is_refused(stub: FlaskClient, access_token: str) -> None:
    stub.post("/_stub/tokens/expire")

    assert sec_check(stub, access_token) == {"errcode": 42001, "errmsg": "access_token expired"}


def test_an_injected_failure_answers_instead_of_the_verdict(
        stub: FlaskClient, access_token: str) -> None:
    response = stub.post("/_stub/failures", json={"path": SEC_CHECK, "errcode": 45009,
                                                  "count": 2})
    assert response.status_code == 201

    assert [sec_check(stub, access_token)["errcode"] for _ in range(3)] == [45009, 45009, 0]
    assert len(text_checks(stub)) == 1
    assert stub.get("/_stub/calls").get_json()["calls"][SEC_CHECK] == 3


# --- the record of checked texts ------------------------------------------------------------


def test_checked_texts_are_recorded_with_their_verdicts(
        stub: FlaskClient, access_token: str) -> None:
    sec_check(stub, access_token, GOOD_COMMENT)
    sec_check(stub, access_token, "这条待复核", openid="o-bob", scene=3)
    sec_check(stub, access_token, "字" * 2501)  # refused (47001): no verdict, no record

    assert text_checks(stub) == [
        {"openid": "o-alice", "scene": 2, "content": GOOD_COMMENT, "suggest": "pass",
         "label": 100, "at": START},
        {"openid": "o-bob", "scene": 3, "content": "这条待复核", "suggest": "review",
         "label": 21000, "at": START},
    ]
    assert [check["openid"] for check in text_checks(stub, openid="o-bob")] == ["o-bob"]


def test_reset_forgets_the_checked_texts(stub: FlaskClient, access_token: str) -> None:
    sec_check(stub, access_token)
    assert stub.post("/_stub/reset").status_code == 200

    assert text_checks(stub) == []
