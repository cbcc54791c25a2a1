"""A person's own tags over HTTP: what they carry and why, disputing a manual one (which takes
them out of its audiences until an admin decides), and their push preferences."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.push.computed import refresh_users
from app.push.tags import add_members, create
from tests.factories import auth_headers, create_admin, create_user
from tests.personal_numbers import new_id_number


@pytest.fixture
def push_admin(app_context):
    return create_admin(username="pusher", roles=("push_admin",))


@pytest.fixture
def citizen(app_context):
    user = create_user(name="李娜", id_number=new_id_number(region_code="530102",
                                                          birth_year=1995))
    refresh_users([user.id])
    return user


@pytest.fixture
def headers(citizen):
    return auth_headers(citizen)


def tagged(admin, user, name: str = "life:newborn", *, sensitive: bool = False) -> str:
    """A manual tag the admin defines and gives the user."""
    create(admin, name=name, kind="manual", description="家中有新生儿", sensitive=sensitive)
    add_members(admin, name, [user.id])
    db.session.commit()
    return name


def my_tags(client, headers) -> dict[str, dict]:
    response = client.get("/api/v1/me/tags", headers=headers)
    assert response.status_code == 200, response.get_json()
    return {item["tag"]: item for item in response.get_json()["items"]}


def audience_size(client, admin, audience: str) -> int:
    response = client.post("/api/v1/admin/audiences/preview", headers=auth_headers(admin),
                           json={"audience": audience})
    return response.get_json()["audience_size"]


def disputed(client, headers, tag: str, reason: str = "孩子已满三周岁"):
    return client.post(f"/api/v1/me/tags/{tag}/dispute", headers=headers,
                       json={"reason": reason})


def test_a_person_sees_their_own_tags_with_source_and_since(client, headers, citizen,
                                                            push_admin):
    tagged(push_admin, citizen)
    tags = my_tags(client, headers)
    assert {"user:registered", "region:530102", "age:18-34", "life:newborn"} <= set(tags)
    region, newborn = tags["region:530102"], tags["life:newborn"]
    assert (region["source"], region["disputable"], region["dispute"]) == ("computed", False,
                                                                          None)
    assert "区县" in region["description"]  # the family's meaning
    assert (newborn["source"], newborn["disputable"], newborn["description"]) == (
        "manual", True, "家中有新生儿")
    assert newborn["since"].endswith("+08:00") and newborn["expires_at"] is None


def test_computed_tags_say_what_they_mean_before_any_admin_acts(client, headers):
    tags = my_tags(client, headers)
    assert "区县" in tags["region:530102"]["description"]
    assert "年龄" in tags["age:18-34"]["description"]


def test_a_sensitive_tag_is_in_the_persons_own_list(client, headers, citizen, push_admin):
    tagged(push_admin, citizen, "health:chronic", sensitive=True)
    assert my_tags(client, headers)["health:chronic"]["sensitive"] is True


def test_disputing_a_manual_tag_takes_the_person_out_of_its_audience(client, headers, citizen,
                                                                     push_admin):
    tagged(push_admin, citizen)
    assert audience_size(client, push_admin, "life:newborn") == 1
    response = disputed(client, headers, "life:newborn", "  孩子已满三周岁 ")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["tag"], body["status"], body["reason"]) == ("life:newborn", "open",
                                                             "孩子已满三周岁")
    assert audience_size(client, push_admin, "life:newborn") == 0
    mine = my_tags(client, headers)["life:newborn"]
    assert mine["disputable"] is False
    assert (mine["dispute"]["id"], mine["dispute"]["status"]) == (body["id"], "open")


def test_a_tag_is_disputed_once(client, headers, citizen, push_admin):
    tagged(push_admin, citizen)
    disputed(client, headers, "life:newborn")
    again = disputed(client, headers, "life:newborn")
    assert (again.status_code, again.get_json()["error"]) == (409, "dispute_exists")


def test_a_computed_tag_cannot_be_disputed(client, headers):
    response = disputed(client, headers, "region:530102")
    assert (response.status_code, response.get_json()["error"]) == (409, "tag_computed")


def test_a_tag_not_carried_cannot_be_disputed(client, headers):
    assert disputed(client, headers, "life:retiring").status_code == 404


@pytest.mark.parametrize("reason", ["", "   ", "理" * 501])
def test_a_dispute_needs_a_reason_of_at_most_500_characters(client, headers, citizen,
                                                            push_admin, reason):
    tagged(push_admin, citizen)
    response = disputed(client, headers, "life:newborn", reason)
    assert (response.status_code, set(response.get_json()["errors"])) == (422, {"reason"})
    assert audience_size(client, push_admin, "life:newborn") == 1


def test_push_preferences_start_as_defaults_and_round_trip(client, headers):
    response = client.get("/api/v1/me/push-preferences", headers=headers)
    assert response.get_json() == {"muted_categories": [], "quiet_hours": None,
                                   "wechat_enabled": True}
    wanted = {"muted_categories": ["pension", "elderly_care", "pension"],
              "quiet_hours": {"start": "22:00", "end": "07:30"}, "wechat_enabled": False}
    put = client.put("/api/v1/me/push-preferences", headers=headers, json=wanted)
    assert put.status_code == 200, put.get_json()
    expected = {**wanted, "muted_categories": ["elderly_care", "pension"]}
    assert put.get_json() == expected
    assert client.get("/api/v1/me/push-preferences", headers=headers).get_json() == expected


def test_muting_a_category_shows_as_an_opt_out_tag(client, headers):
    client.put("/api/v1/me/push-preferences", headers=headers, json={
        "muted_categories": ["pension"], "quiet_hours": None, "wechat_enabled": True})
    assert my_tags(client, headers)["optout:pension"]["source"] == "computed"
    client.put("/api/v1/me/push-preferences", headers=headers, json={
        "muted_categories": [], "quiet_hours": None, "wechat_enabled": True})
    assert "optout:pension" not in my_tags(client, headers)


@pytest.mark.parametrize(("change", "field"), [
    ({"muted_categories": ["Pension"]}, "muted_categories"),
    ({"muted_categories": ["pension\n"]}, "muted_categories"),
    ({"muted_categories": ["养老"]}, "muted_categories"),
    ({"muted_categories": [f"c{n}" for n in range(33)]}, "muted_categories"),
    ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "quiet_hours"),
    ({"quiet_hours": {"start": "24:00", "end": "07:00"}}, "quiet_hours"),
    ({"quiet_hours": {"start": "22:00"}}, "quiet_hours"),
    ({"quiet_hours": {"start": "22:00\n", "end": "07:00"}}, "quiet_hours"),
    ({"wechat_enabled": "yes please"}, "wechat_enabled"),
    ({"sound": True}, "sound"),
])
def test_push_preferences_are_validated(client, headers, change, field):
    body = {"muted_categories": [], "quiet_hours": None, "wechat_enabled": True, **change}
    response = client.put("/api/v1/me/push-preferences", headers=headers, json=body)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {field}
    assert client.get("/api/v1/me/push-preferences", headers=headers).get_json()[
        "muted_categories"] == []


def test_every_preference_must_be_given(client, headers):
    response = client.put("/api/v1/me/push-preferences", headers=headers,
                          json={"muted_categories": []})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"quiet_hours", "wechat_enabled"}
