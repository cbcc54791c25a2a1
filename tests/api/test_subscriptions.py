"""The caller's consent to WeChat subscribe messages over HTTP: each "accept" of a one-time
template is one send, a long-term template's lasts until a "reject", and a push run then reaches
the caller's WeChat once."""

from __future__ import annotations

import pytest

from app.push.wechat_delivery import deliver_run
from app.push.wechat_sends import send_client
from tests.conftest import ERROR_SHAPE
from tests.factories import auth_headers, create_admin, create_user
from tests.wechat_factories import LONG_TERM, ONE_TIME, create_wechat_rule, run_for

URL = "/api/v1/me/subscriptions"


@pytest.fixture
def citizen(app_context):
    send_client().breaker.succeeded()
    return create_user(verified=False)


@pytest.fixture
def headers(citizen):
    return auth_headers(citizen)


def answer(client, headers, template_id: str, result: str):
    return client.post(URL, headers=headers, json={"template_id": template_id, "result": result})


def test_each_accept_of_a_one_time_template_allows_one_more_send(client, headers):
    first = answer(client, headers, ONE_TIME, "accept")
    assert first.status_code == 200
    assert first.get_json() | {"updated_at": None} == {
        "template_id": ONE_TIME, "credits": 1, "long_term": False, "can_send": True,
        "updated_at": None}
    assert first.get_json()["updated_at"].endswith("+08:00")
    assert answer(client, headers, ONE_TIME, "accept").get_json()["credits"] == 2
    # A reject adds nothing and takes back none of the accepts before it.
    assert answer(client, headers, ONE_TIME, "reject").get_json()["credits"] == 2


def test_a_long_term_consent_stands_until_a_reject(client, headers):
    accepted = answer(client, headers, LONG_TERM, "accept").get_json()
    assert (accepted["long_term"], accepted["can_send"], accepted["credits"]) == (True, True, 1)
    assert answer(client, headers, LONG_TERM, "accept").get_json()["credits"] == 1
    rejected = answer(client, headers, LONG_TERM, "reject").get_json()
    assert (rejected["can_send"], rejected["credits"]) == (False, 0)


def test_a_first_reject_records_no_consent(client, headers):
    assert answer(client, headers, ONE_TIME, "reject").get_json() | {"updated_at": None} == {
        "template_id": ONE_TIME, "credits": 0, "long_term": False, "can_send": False,
        "updated_at": None}


def test_consent_then_a_run_reaches_the_callers_wechat_once(client, headers, citizen,
                                                            wechat_stub):
    wechat_stub.state.set_credits(citizen.openid, ONE_TIME, 1)  # what WeChat recorded
    assert answer(client, headers, ONE_TIME, "accept").status_code == 200
    rule = create_wechat_rule(template_id=ONE_TIME)
    for _ in range(2):
        deliver_run(run_for(rule, [citizen]).id)
    assert len(wechat_stub.state.messages(citizen.openid)) == 1
    assert answer(client, headers, ONE_TIME, "reject").get_json()["can_send"] is False


@pytest.mark.parametrize(("body", "field"), [
    ({"template_id": "tpl cert", "result": "accept"}, "template_id"),
    ({"template_id": "t" * 65, "result": "accept"}, "template_id"),
    ({"template_id": "tpl-cert-expiry\n", "result": "accept"}, "template_id"),
    ({"template_id": ONE_TIME, "result": "maybe"}, "result"),
    ({"template_id": ONE_TIME}, "result"),
    ({"template_id": ONE_TIME, "result": "accept", "extra": 1}, "extra"),
])
def test_bad_answers_are_refused_naming_the_field(client, headers, body, field):
    response = client.post(URL, headers=headers, json=body)
    assert response.status_code == 422
    assert set(response.get_json()) >= ERROR_SHAPE
    assert field in response.get_json()["errors"]


def test_admins_have_no_subscriptions(client, app_context):
    response = client.post(URL, headers=auth_headers(create_admin()),
                           json={"template_id": ONE_TIME, "result": "accept"})
    assert response.status_code == 403
