"""The stub's real-name check answers every verdict WeChat gives, and its controls drive them."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from app.seed.fake_identifiers import fake_id_number
from app.seed.identity import DEMO_ENTERPRISES, demo_id_number
from mini_program_stub.real_name import preset_demo_people, real_names
from mini_program_stub.wechat_server import create_stub_app
from tests.unit.mini_program_stub.test_wechat_server import (
    APPID,
    SECRET,
    START,
    advance,
    token,
)

CHECK = "/intp/realname/checkrealnameinfo"
NUMBER = fake_id_number("530102", sequence=31)
OTHER_NUMBER = fake_id_number("530103", sequence=17)


@pytest.fixture
def stub() -> FlaskClient:
    return create_stub_app(APPID, SECRET, clock=lambda: START).test_client()


def real_name(stub: FlaskClient, openid: str = "o-alice", name: str = "李明",
              id_number: str = NUMBER) -> None:
    body = {"openid": openid, "name": name, "id_number": id_number}
    assert stub.put("/_stub/real-names", json=body).status_code == 200


def consent(stub: FlaskClient, openid: str = "o-alice") -> str:
    response = stub.post("/_stub/real-name-codes", json={"openid": openid})
    assert response.status_code == 201
    assert response.get_json()["openid"] == openid
    return response.get_json()["code"]


def check(stub: FlaskClient, access_token: str | None, **overrides: Any) -> dict[str, Any]:
    query = {} if access_token is None else {"access_token": access_token}
    body = {"openid": "o-alice", "real_name": "李明", "cred_id": NUMBER, "cred_type": "1",
            **overrides}
    if "code" not in body:
        body["code"] = consent(stub)
    response = stub.post(CHECK, query_string=query, json=body)
    assert response.status_code == 200
    return response.get_json()


def verdict(answer: dict[str, Any]) -> tuple[str, str]:
    assert (answer["errcode"], answer["errmsg"]) == (0, "ok")
    return answer["verify_openid"], answer["verify_real_name"]


# --- verdicts -------------------------------------------------------------------------------


@pytest.mark.parametrize(("record", "expected"), [
    (None, ("V_OP_NA", "")),
    (("王芳", NUMBER), ("V_OP_NM_UM", "")),
    (("李明", OTHER_NUMBER), ("V_OP_NM_MA", "V_NM_ID_UM")),
    (("李明", NUMBER), ("V_OP_NM_MA", "V_NM_ID_MA")),
])
def test_the_check_compares_name_and_number_with_the_users_record(
        stub: FlaskClient, record: tuple[str, str] | None, expected: tuple[str, str]) -> None:
    if record is not None:
        real_name(stub, "o-alice", *record)
    assert verdict(check(stub, token(stub))) == expected


def test_a_new_record_replaces_the_old_one(stub: FlaskClient) -> None:
    real_name(stub, name="王芳")
    real_name(stub, name="李明")
    assert verdict(check(stub, token(stub))) == ("V_OP_NM_MA", "V_NM_ID_MA")


def test_a_lower_case_check_character_is_the_same_number(stub: FlaskClient) -> None:
    number = next(fake_id_number("530102", sequence=n) for n in range(1, 999)
                  if fake_id_number("530102", sequence=n).endswith("X"))
    real_name(stub, id_number=number)
    answer = check(stub, token(stub), cred_id=number.lower())
    assert verdict(answer) == ("V_OP_NM_MA", "V_NM_ID_MA")


# --- consent codes --------------------------------------------------------------------------


def test_a_consent_code_works_once(stub: FlaskClient) -> None:
    real_name(stub)
    code, access = consent(stub), token(stub)
    assert verdict(check(stub, access, code=code)) == ("V_OP_NM_MA", "V_NM_ID_MA")
    assert check(stub, access, code=code) == {"errcode": 80113, "errmsg": "invalid code"}


def test_a_consent_code_expires_after_five_minutes(stub: FlaskClient) -> None:
    real_name(stub)
    kept, spoiled = consent(stub), consent(stub)
    advance(stub, 299)
    access = token(stub)
    assert verdict(check(stub, access, code=kept))[0] == "V_OP_NM_MA"
    advance(stub, 1)
    assert check(stub, access, code=spoiled)["errcode"] == 80113


def test_another_users_consent_code_is_refused_and_stays_theirs(stub: FlaskClient) -> None:
    real_name(stub, "o-bob", "王芳", OTHER_NUMBER)
    bobs, access = consent(stub, "o-bob"), token(stub)
    assert check(stub, access, code=bobs)["errcode"] == 80113
    answer = check(stub, access, openid="o-bob", real_name="王芳", cred_id=OTHER_NUMBER, code=bobs)
    assert verdict(answer) == ("V_OP_NM_MA", "V_NM_ID_MA")


def test_an_unknown_consent_code_is_refused(stub: FlaskClient) -> None:
    assert check(stub, token(stub), code="not-a-code")["errcode"] == 80113


# --- what every WeChat API checks -----------------------------------------------------------


def test_the_check_needs_a_good_access_token(stub: FlaskClient) -> None:
    assert check(stub, None)["errcode"] == 41001
    assert check(stub, "not-a-token")["errcode"] == 40001
    access = token(stub)
    stub.post("/_stub/tokens/expire")
    assert check(stub, access)["errcode"] == 42001


@pytest.mark.parametrize("overrides", [
    {"cred_type": "2"}, {"cred_type": 1}, {"cred_id": ""}, {"real_name": None}, {"openid": 7},
])
def test_a_malformed_request_is_a_format_error(stub: FlaskClient, overrides: dict) -> None:
    assert check(stub, token(stub), **overrides)["errcode"] == 47001


def test_a_body_that_is_not_json_is_a_format_error(stub: FlaskClient) -> None:
    response = stub.post(CHECK, query_string={"access_token": token(stub)}, data="openid=o")
    assert response.get_json()["errcode"] == 47001


def test_injected_failures_answer_the_check_first(stub: FlaskClient) -> None:
    real_name(stub)
    stub.post("/_stub/failures", json={"path": CHECK, "errcode": -1})
    access = token(stub)
    assert check(stub, access) == {"errcode": -1, "errmsg": "system error"}
    assert verdict(check(stub, access))[0] == "V_OP_NM_MA"
    assert stub.get("/_stub/calls").get_json()["calls"][CHECK] == 2


# --- controls -------------------------------------------------------------------------------


def test_reset_forgets_records_and_codes(stub: FlaskClient) -> None:
    real_name(stub)
    code = consent(stub)
    assert stub.post("/_stub/reset").status_code == 200
    access = token(stub)
    assert check(stub, access, code=code)["errcode"] == 80113
    assert verdict(check(stub, access)) == ("V_OP_NA", "")


@pytest.mark.parametrize(("method", "path", "body"), [
    ("put", "/_stub/real-names", {"openid": "o-a", "name": "李明"}),
    ("put", "/_stub/real-names", {"openid": "o-a", "name": "", "id_number": NUMBER}),
    ("put", "/_stub/real-names", {"openid": 1, "name": "李明", "id_number": NUMBER}),
    ("put", "/_stub/real-names", [1]),
    ("post", "/_stub/real-name-codes", {}),
    ("post", "/_stub/real-name-codes", {"openid": ""}),
])
def test_real_name_controls_refuse_wrong_json(
        stub: FlaskClient, method: str, path: str, body: Any) -> None:
    response = getattr(stub, method)(path, json=body)
    assert response.status_code == 400
    assert response.get_json()["message"]


def test_the_demo_people_are_real_named_as_the_seed_makes_them(stub: FlaskClient) -> None:
    assert preset_demo_people(stub.application) == 5
    records = real_names(stub.application)
    logistics_rep = fake_id_number(*DEMO_ENTERPRISES[1][4])  # as the registry holds it
    for openid, name, id_number in [("demo-citizen-1", "李明", demo_id_number("demo-citizen-1")),
                                    ("demo-legal-rep-2", "陈志远", logistics_rep)]:
        code = records.mint_code(openid)
        assert records.check(openid, name, id_number, code) == ("V_OP_NM_MA", "V_NM_ID_MA")
