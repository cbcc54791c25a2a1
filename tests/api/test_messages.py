"""The inbox over HTTP: the caller's messages with why, paged and filtered; reading, clicking
and dismissing, each idempotent; another person's message answers as an unknown one; /home
counts the unread ones; muting hides a category at once."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.push import computed, memberships
from tests.factories import auth_headers, create_certificate_type, create_regions, create_user
from tests.inbox_factories import create_rule, create_run
from tests.personal_numbers import new_id_number

MESSAGES = "/api/v1/me/messages"


@pytest.fixture
def person(app_context):
    """Someone in 五华区 whose driving licence expires within 30 days."""
    create_regions()
    create_certificate_type()
    user = create_user(name="李娜", id_number=new_id_number(region_code="530102"))
    computed.refresh_users([user.id])
    memberships.grant(user.id, "cert:driving_licence:expiring_30d", source="computed")
    db.session.commit()
    return user


@pytest.fixture
def headers(person):
    return auth_headers(person)


@pytest.fixture
def rule(app_context):
    return create_rule(target_code="GF00001001")


def listed(client, headers, **query) -> dict:
    response = client.get(MESSAGES, headers=headers, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def unread_on_home(client, headers) -> int:
    return client.get("/api/v1/home", headers=headers).get_json()["unread_messages"]


def test_the_caller_sees_their_message_with_why_in_china_time(client, headers, person, rule):
    run = create_run(rule=rule, recipients=[person.id])
    page = listed(client, headers)
    assert (page["total"], page["page"], page["per_page"]) == (1, 1, 20)
    item = page["items"][0]
    assert item["id"] == str(run.id) and item["service_code"] == "GF00001001"
    assert item["why"] == {"text": "因为您在昆明市五华区，且机动车驾驶证将于30日内到期",
                           "rule": "驾驶证到期提醒",
                           "tags": ["cert:driving_licence:expiring_30d", "region:530102"]}
    assert item["created_at"].endswith("+08:00") and item["read_at"] is None
    detail = client.get(f"{MESSAGES}/{run.id}", headers=headers)
    assert detail.status_code == 200 and detail.get_json() == item


def test_another_persons_message_answers_like_one_that_does_not_exist(client, person, rule):
    run = create_run(rule=rule, recipients=[person.id])
    stranger = auth_headers(create_user(name="王芳"))
    assert listed(client, stranger)["total"] == 0

    def answer(path: str) -> tuple[int, dict]:
        response = client.post(path, headers=stranger) if path.endswith(
            ("/read", "/click", "/dismiss")) else client.get(path, headers=stranger)
        return response.status_code, {**response.get_json(), "request_id": None}

    for suffix in ("", "/read", "/click", "/dismiss"):
        assert answer(f"{MESSAGES}/{run.id}{suffix}") == answer(f"{MESSAGES}/987654{suffix}")
        assert answer(f"{MESSAGES}/{run.id}{suffix}")[0] == 404


def test_read_and_click_are_idempotent(client, headers, person, rule):
    run = create_run(rule=rule, recipients=[person.id])
    read = client.post(f"{MESSAGES}/{run.id}/read", headers=headers).get_json()
    again = client.post(f"{MESSAGES}/{run.id}/read", headers=headers).get_json()
    assert read["read_at"] is not None and again == read
    clicked = client.post(f"{MESSAGES}/{run.id}/click", headers=headers).get_json()
    assert clicked["read_at"] == read["read_at"] and clicked["clicked_at"] is not None
    assert client.post(f"{MESSAGES}/{run.id}/click", headers=headers).get_json() == clicked


def test_the_unread_filter_and_the_home_count(client, headers, person, rule):
    first = create_run(rule=rule, recipients=[person.id])
    second = create_run(rule=rule, recipients=[person.id])
    assert unread_on_home(client, headers) == 2
    client.post(f"{MESSAGES}/{first.id}/read", headers=headers)
    assert [i["id"] for i in listed(client, headers, unread="true")["items"]] == [str(second.id)]
    assert listed(client, headers, unread="false")["total"] == 2
    assert unread_on_home(client, headers) == 1


def test_dismissing_removes_the_message_and_again_changes_nothing(client, headers, person,
                                                                  rule):
    run = create_run(rule=rule, recipients=[person.id])
    for _ in range(2):
        assert client.post(f"{MESSAGES}/{run.id}/dismiss", headers=headers).status_code == 204
    assert listed(client, headers)["total"] == 0 and unread_on_home(client, headers) == 0
    assert client.get(f"{MESSAGES}/{run.id}", headers=headers).status_code == 404


def test_muting_a_category_hides_its_messages_at_once(client, headers, person, rule):
    create_run(rule=rule, recipients=[person.id])
    muted = client.put("/api/v1/me/push-preferences", headers=headers, json={
        "muted_categories": ["licence"], "quiet_hours": None, "wechat_enabled": True})
    assert muted.status_code == 200
    assert listed(client, headers)["total"] == 0 and unread_on_home(client, headers) == 0


def test_pages_hold_per_page_messages_newest_first(client, headers, person, rule):
    runs = [create_run(rule=rule, recipients=[person.id]) for _ in range(5)]
    page = listed(client, headers, page=2, per_page=2)
    assert page["total"] == 5
    assert [item["id"] for item in page["items"]] == [str(runs[2].id), str(runs[1].id)]


def test_the_inbox_is_for_citizens(client, rule):
    assert client.get(MESSAGES).status_code == 401
