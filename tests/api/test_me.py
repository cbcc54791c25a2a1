"""The caller's profile and real-name verification."""

from __future__ import annotations

from datetime import date

import pytest

from app.identity.real_name import identity_verifier
from app.privacy.identifiers import id_check_character
from tests.factories import auth_headers, create_user
from tests.personal_numbers import new_id_number, remember


def post_real_name(client, headers, name="李明", id_number=None):
    return client.post("/api/v1/me/real-name", headers=headers,
                       json={"name": name, "id_number": id_number or new_id_number()})


@pytest.fixture
def headers(app_context):
    return auth_headers(create_user(verified=False))


def test_me_needs_a_login(client):
    assert client.get("/api/v1/me").status_code == 401


def test_real_name_verification_stores_facts_and_shows_only_masks(client, headers):
    number = new_id_number("530102", birth_date=date(1990, 5, 12))
    response = post_real_name(client, headers, "李明", number)
    body = response.get_json()
    assert response.status_code == 200
    assert body["real_name_verified"] is True
    assert body["name_masked"] == "李*"
    assert body["id_number_masked"] == number[:6] + "********" + number[-4:]
    assert body["region_code"] == "530102"
    assert number not in client.get("/api/v1/me", headers=headers).get_data(as_text=True)


def test_names_with_a_middle_dot_are_accepted(client, headers):
    assert post_real_name(client, headers, "阿卜杜·热合曼").status_code == 200


@pytest.mark.parametrize("name", ["李", "Li Ming", "李明1", "·李明", "李" * 31])
def test_bad_names_are_422_naming_name(client, headers, name):
    response = post_real_name(client, headers, name)
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
def test_bad_id_numbers_are_422_naming_id_number(client, headers, make_number, reason):
    response = post_real_name(client, headers, id_number=make_number())
    body = response.get_json()
    assert response.status_code == 422
    assert reason in body["errors"]["id_number"][0]


def test_an_id_number_bound_to_another_account_is_409(client, headers, app_context):
    number = new_id_number()
    create_user(id_number=number)
    response = post_real_name(client, headers, id_number=number)
    assert response.status_code == 409
    assert "id_number" in response.get_json()["errors"]


def test_the_verifier_can_refuse_a_number(client, app, headers):
    number = new_id_number()
    app.config["REAL_NAME_DENY_LIST"] = [number]
    identity_verifier.init_app(app)
    try:
        response = post_real_name(client, headers, id_number=number)
    finally:
        app.config.pop("REAL_NAME_DENY_LIST")
        identity_verifier.init_app(app)
    assert response.status_code == 422
    assert response.get_json()["error"] == "real_name_mismatch"


def test_sixth_attempt_in_an_hour_is_429_with_retry_after(client, headers):
    for _ in range(5):
        post_real_name(client, headers, id_number=_bad_check_digit())
    response = post_real_name(client, headers)
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0


def test_verified_account_cannot_switch_identity(client, app_context):
    user = create_user()
    response = post_real_name(client, auth_headers(user))
    assert response.status_code == 409

