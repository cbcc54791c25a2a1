"""The caller's profile and real-name verification."""

from __future__ import annotations

import logging
from datetime import date

import pytest

from app.privacy.identifiers import id_check_character
from mini_program_stub.wechat_state import InjectedFailure
from tests.factories import auth_headers, create_user, real_name_consent
from tests.personal_numbers import new_id_number, remember

REAL_NAME_CHECK = "/intp/realname/checkrealnameinfo"


def post_real_name(client, stub, user, name="李明", id_number=None, *, code=None):
    """Real-name `user` as the mini program does: WeChat knows them by this name and number
    (unless a consent `code` is given), they agree on WeChat's page, and the app asks."""
    id_number = id_number or new_id_number()
    if code is None:
        code = real_name_consent(stub=stub, openid=user.openid, name=name, id_number=id_number)
    return client.post("/api/v1/me/real-name", headers=auth_headers(user),
                       json={"name": name, "id_number": id_number, "code": code})


def wechat_checks(stub) -> int:
    return stub.state.call_counts().get(REAL_NAME_CHECK, 0)


@pytest.fixture
def user(app_context):
    return create_user(verified=False)


@pytest.fixture
def headers(user):
    return auth_headers(user)


def test_me_needs_a_login(client):
    assert client.get("/api/v1/me").status_code == 401


def test_real_name_verification_stores_facts_and_shows_only_masks(client, wechat_stub, user,
                                                                  headers):
    number = new_id_number("530102", birth_date=date(1990, 5, 12))
    response = post_real_name(client, wechat_stub, user, "李明", number)
    body = response.get_json()
    assert response.status_code == 200
    assert body["real_name_verified"] is True
    assert body["name_masked"] == "李*"
    assert body["id_number_masked"] == number[:6] + "********" + number[-4:]
    assert body["region_code"] == "530102"
    assert number not in client.get("/api/v1/me", headers=headers).get_data(as_text=True)


def test_names_with_a_middle_dot_are_accepted(client, wechat_stub, user):
    assert post_real_name(client, wechat_stub, user, "阿卜杜·热合曼").status_code == 200


@pytest.mark.parametrize("name", ["李", "Li Ming", "李明1", "·李明", "李" * 31])
def test_bad_names_are_422_naming_name(client, wechat_stub, user, name):
    response = post_real_name(client, wechat_stub, user, name)
    assert response.status_code == 422
    assert "name" in response.get_json()["errors"]


def _bad_check_digit() -> str:
    number = new_id_number()
    wrong = next(c for c in "0123456789X" if c != number[-1])
    return remember(number[:-1] + wrong)


def _with_body(region: str, birth: str) -> str:
    body = region + birth + "031"
    return remember(body + id_check_character(body))


@pytest.mark.parametrize("make_number,reason", [
    (_bad_check_digit, "校验"),
    (lambda: _with_body("530102", "19900231"), "出生日期"),
    (lambda: _with_body("990102", "19900101"), "地区"),
    (lambda: _with_body("530102", "20991231"), "出生日期"),
])
def test_bad_id_numbers_are_422_naming_id_number(client, wechat_stub, user, make_number, reason):
    response = post_real_name(client, wechat_stub, user, id_number=make_number())
    body = response.get_json()
    assert response.status_code == 422
    assert reason in body["errors"]["id_number"][0]
    assert wechat_checks(wechat_stub) == 0


def test_an_id_number_bound_to_another_account_is_409(client, wechat_stub, user):
    number = new_id_number()
    create_user(id_number=number)
    response = post_real_name(client, wechat_stub, user, id_number=number)
    assert response.status_code == 409
    assert "id_number" in response.get_json()["errors"]


def test_sixth_attempt_in_an_hour_is_429_with_retry_after(client, wechat_stub, user):
    for _ in range(5):
        post_real_name(client, wechat_stub, user, id_number=_bad_check_digit())
    response = post_real_name(client, wechat_stub, user)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0


def test_verified_account_cannot_switch_identity(client, wechat_stub, app_context):
    user = create_user()
    response = post_real_name(client, wechat_stub, user)
    assert response.status_code == 409



# --- what WeChat's real-name check answers --------------------------------------------------


def is_verified(client, headers) -> bool:
    return client.get("/api/v1/me", headers=headers).get_json()["real_name_verified"]


def refused_as(response, error: str) -> dict:
    """The body of a 422 answer with this error code."""
    body = response.get_json()
    assert (response.status_code, body["error"]) == (422, error)
    return body


def test_a_wechat_account_without_a_real_name_is_422_real_name_not_registered(
        client, wechat_stub, user, headers):
    code = real_name_consent(stub=wechat_stub, openid=user.openid)
    body = refused_as(post_real_name(client, wechat_stub, user, code=code),
                      "real_name_not_registered")
    assert "微信账号尚未实名" in body["message"]
    assert is_verified(client, headers) is False


@pytest.mark.parametrize("wechat_name,same_number", [("王芳", True), ("李明", False)])
def test_a_name_or_number_other_than_wechats_is_422_real_name_mismatch_naming_id_number(
        client, wechat_stub, user, headers, wechat_name, same_number):
    number = new_id_number()
    code = real_name_consent(stub=wechat_stub, openid=user.openid, name=wechat_name,
                             id_number=number if same_number else new_id_number())
    body = refused_as(post_real_name(client, wechat_stub, user, "李明", number, code=code),
                      "real_name_mismatch")
    assert "id_number" in body["errors"]
    assert is_verified(client, headers) is False


@pytest.mark.parametrize("spoil", ["used", "expired", "another user's"])
def test_a_consent_code_that_is_not_good_is_422_real_name_code_invalid_naming_code(
        client, wechat_stub, user, headers, spoil):
    number = new_id_number()
    code = real_name_consent(stub=wechat_stub, openid=user.openid, name="李明", id_number=number)
    if spoil == "used":
        assert post_real_name(client, wechat_stub, user, "王芳", number, code=code
                              ).status_code == 422
    elif spoil == "expired":
        wechat_stub.state.advance_clock(301)
    else:
        code = real_name_consent(stub=wechat_stub, openid="o-someone-else", name="李明",
                                 id_number=number)
    body = refused_as(post_real_name(client, wechat_stub, user, "李明", number, code=code),
                      "real_name_code_invalid")
    assert "code" in body["errors"]
    assert is_verified(client, headers) is False


def test_a_request_without_a_consent_code_is_422_naming_code(client, headers):
    response = client.post("/api/v1/me/real-name", headers=headers,
                           json={"name": "李明", "id_number": new_id_number()})
    assert response.status_code == 422
    assert "code" in response.get_json()["errors"]


@pytest.mark.parametrize("failure", [InjectedFailure(-1), InjectedFailure(-1, 502)])
def test_wechat_busy_or_down_is_503_unavailable_and_verifies_nothing(
        client, wechat_stub, user, headers, failure):
    wechat_stub.state.add_failure(REAL_NAME_CHECK, failure, 10)
    response = post_real_name(client, wechat_stub, user)
    assert response.status_code == 503
    assert response.get_json()["error"] == "unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert is_verified(client, headers) is False


def test_busy_once_is_retried_and_the_check_goes_through(client, wechat_stub, user):
    wechat_stub.state.add_failure(REAL_NAME_CHECK, InjectedFailure(-1), 1)
    assert post_real_name(client, wechat_stub, user).status_code == 200
    assert wechat_checks(wechat_stub) == 2


def test_names_numbers_and_codes_never_reach_the_log(client, wechat_stub, user, caplog):
    caplog.set_level(logging.DEBUG)
    number = new_id_number()
    refused = real_name_consent(stub=wechat_stub, openid=user.openid, name="王芳",
                                id_number=number)
    assert post_real_name(client, wechat_stub, user, "李明", number, code=refused
                          ).status_code == 422
    accepted = real_name_consent(stub=wechat_stub, openid=user.openid, name="李明",
                                 id_number=number)
    assert post_real_name(client, wechat_stub, user, "李明", number, code=accepted
                          ).status_code == 200
    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records)
    assert "real-name check refused" in logged
    for secret in ("李明", "王芳", number, refused, accepted):
        assert secret not in logged
