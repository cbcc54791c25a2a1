"""Push rules over HTTP: one admin drafts, another approves; the saved rule's preview; edits
only while a draft; every check a rule must pass, named by field; each step of the lifecycle
in the audit log with its actor."""

from __future__ import annotations

from typing import Any

import pytest

from app.push.computed import refresh_users
from tests.factories import auth_headers, create_admin, create_item, create_theme, create_user
from tests.personal_numbers import new_id_number

RULES = "/api/v1/admin/push-rules"
ITEM_CODE = "GF00001001"


@pytest.fixture
def catalog(app_context):
    create_theme()
    return create_item(code=ITEM_CODE, name="养老金资格认证")


@pytest.fixture
def writer(catalog):
    """Admin A: writes rules, and approves other people's."""
    return auth_headers(create_admin(username="writer", roles=("push_admin", "push_approver")))


@pytest.fixture
def approver(app_context):
    """Admin B."""
    return auth_headers(create_admin(username="checker", roles=("push_approver",)))


@pytest.fixture
def auditor(app_context):
    return auth_headers(create_admin(username="reader", roles=("auditor",)))


def body(**overrides: Any) -> dict[str, Any]:
    """A rule every check passes, but for `overrides`."""
    return {"name": "养老金资格认证提醒", "audience": "region:5301 and age:60+",
            "category": "pension", "reason": "您在昆明市，已到领取养老金的年龄",
            "message": {"title": "养老金资格认证", "body": "请在本月内完成养老金领取资格认证。",
                        "service_code": ITEM_CODE},
            "channels": ["inbox", "wechat"],
            "wechat": {"template_id": "tmpl-pension",
                       "data": {"thing1": "{service_name}", "time2": "{date} 09:00"}},
            "schedule": {"type": "cron", "expression": "0 9 * * 1"},
            "frequency_cap": {"per_week": 1}, **overrides}


def draft(client, headers, **overrides: Any) -> dict[str, Any]:
    response = client.post(RULES, headers=headers, json=body(**overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def step(client, headers, rule: dict, move: str, **json: Any):
    return client.post(f"{RULES}/{rule['id']}/{move}", headers=headers, json=json or None)


def errors_of(response) -> set[str]:
    assert response.status_code == 422, response.get_json()
    return set(response.get_json()["errors"])


def test_one_admin_drafts_and_another_approves(client, writer, approver):
    rule = draft(client, writer)
    assert isinstance(rule["id"], str) and rule["status"] == "draft"
    assert rule["audience"] == "age:60+ AND region:5301"
    assert rule["message"] == body()["message"] and rule["schedule"] == body()["schedule"]
    assert rule["created_by"].isdigit()
    assert (rule["submitted_by"], rule["approved_by"], rule["next_run_at"]) == (None, None, None)
    assert step(client, writer, rule, "submit").get_json()["status"] == "submitted"

    refused = step(client, writer, rule, "approve")
    assert (refused.status_code, refused.get_json()["error"]) == (403, "self_approval")
    assert "另一位推送审批员" in refused.get_json()["message"]

    approved = step(client, approver, rule, "approve")
    assert approved.status_code == 200, approved.get_json()
    shown = approved.get_json()
    assert shown["status"] == "active" and shown["approved_by"] not in (None, rule["created_by"])
    assert shown["next_run_at"].endswith("09:00:00+08:00") and shown["approved_at"]


def test_an_admin_without_push_approver_cannot_approve(client, writer, catalog):
    author_only = auth_headers(create_admin(username="author", roles=("push_admin",)))
    rule = draft(client, writer)
    step(client, writer, rule, "submit")
    assert step(client, author_only, rule, "approve").status_code == 403


def test_the_preview_of_a_saved_rule_is_the_preview_of_its_audience(client, writer):
    for born in (1950, 1955, 1990):
        user = create_user(name="张秀英", id_number=new_id_number(region_code="530102",
                                                                birth_year=born))
        refresh_users([user.id])
    rule = draft(client, writer)
    previewed = client.post(f"{RULES}/{rule['id']}/preview", headers=writer)
    assert previewed.status_code == 200, previewed.get_json()
    shown = previewed.get_json()
    assert shown["audience_size"] == 2 and len(shown["sample"]) == 2
    assert {person["name_masked"] for person in shown["sample"]} == {"张**"}
    unsaved = client.post("/api/v1/admin/audiences/preview", headers=writer,
                          json={"audience": rule["audience"]}).get_json()
    assert {**shown, "evaluated_in_ms": 0} == {**unsaved, "evaluated_in_ms": 0}


def test_rules_are_edited_only_while_a_draft_or_after_a_rejection(client, writer, approver):
    rule = draft(client, writer)
    edited = client.patch(f"{RULES}/{rule['id']}", headers=writer,
                          json={"name": "资格认证提醒", "frequency_cap": None})
    assert edited.status_code == 200, edited.get_json()
    assert (edited.get_json()["name"], edited.get_json()["frequency_cap"]) == ("资格认证提醒",
                                                                               None)
    step(client, writer, rule, "submit")
    locked = client.patch(f"{RULES}/{rule['id']}", headers=writer, json={"name": "再改"})
    assert (locked.status_code, locked.get_json()["error"]) == (409, "illegal_transition")
    assert "待审批" in locked.get_json()["message"]

    rejected = step(client, approver, rule, "reject", note="请写明截止日期")
    assert (rejected.get_json()["status"], rejected.get_json()["review_note"]) == (
        "rejected", "请写明截止日期")
    again = client.patch(f"{RULES}/{rule['id']}", headers=writer, json={"name": "再改"})
    assert (again.status_code, again.get_json()["status"]) == (200, "draft")


def test_illegal_moves_are_conflicts_naming_the_state_and_the_move(client, writer, approver):
    rule = draft(client, writer)
    for move in ("approve", "pause", "resume", "stop"):
        response = step(client, approver, rule, move)
        assert (response.status_code, response.get_json()["error"]) == (409,
                                                                        "illegal_transition")
        assert "「草稿」" in response.get_json()["message"]
    step(client, writer, rule, "submit")
    step(client, approver, rule, "approve")
    assert step(client, writer, rule, "stop").get_json()["status"] == "stopped"
    final = step(client, writer, rule, "resume")
    assert final.status_code == 409 and "「已停止」" in final.get_json()["message"]


def test_every_edit_and_step_is_in_the_audit_log_with_its_actor(client, writer, approver,
                                                                  auditor):
    rule = draft(client, writer)
    client.patch(f"{RULES}/{rule['id']}", headers=writer, json={"priority": "urgent"})
    for headers, move in ((writer, "submit"), (approver, "approve"), (approver, "pause"),
                          (writer, "resume"), (approver, "stop")):
        assert step(client, headers, rule, move).status_code == 200
    log = client.get("/api/v1/admin/audit-log", headers=auditor,
                     query_string={"per_page": 100}).get_json()["items"]
    mine = [(e["action"], e["actor_name"]) for e in reversed(log) if e["target_id"] == rule["id"]]
    assert mine == [("push_rule.create", "writer"), ("push_rule.update", "writer"),
                    ("push_rule.submit", "writer"), ("push_rule.approve", "checker"),
                    ("push_rule.pause", "checker"), ("push_rule.resume", "writer"),
                    ("push_rule.stop", "checker")]
    update = next(e for e in log if e["action"] == "push_rule.update")
    assert update["details"] == {"before": {"priority": "normal"},
                                 "after": {"priority": "urgent"}}


def test_rules_are_listed_by_status_for_readers(client, writer, auditor):
    first, second = draft(client, writer), draft(client, writer, name="第二条")
    step(client, writer, second, "submit")
    listed = client.get(RULES, headers=auditor).get_json()
    assert ([r["id"] for r in listed["items"]], listed["total"]) == ([second["id"],
                                                                      first["id"]], 2)
    drafts = client.get(RULES, headers=auditor, query_string={"status": "draft"}).get_json()
    assert [r["id"] for r in drafts["items"]] == [first["id"]]
    assert client.get(f"{RULES}/{first['id']}", headers=auditor).get_json() == first
    assert client.get(f"{RULES}/987654321", headers=auditor).status_code == 404
    assert client.post(RULES, headers=auditor, json=body()).status_code == 403


def test_a_bad_audience_is_named_with_its_offset(client, writer):
    response = client.post(RULES, headers=writer, json=body(audience="region:5301 AND (age:60+"))
    assert errors_of(response) == {"audience"}
    assert response.get_json()["errors"]["audience"][0].startswith("offset ")


@pytest.mark.parametrize(("overrides", "field"), [
    ({"schedule": {"type": "cron", "expression": "*/10 * * * *"}}, "schedule.expression"),
    ({"message": {"title": "认证", "body": "x", "service_code": "GF99999001"}},
     "message.service_code"),
    ({"message": {"title": "认证", "body": "咨询 13800001234", "service_code": ITEM_CODE}},
     "message.body"),
    ({"name": "提醒 530102194912310029"}, "name"),
    ({"channels": ["wechat"], "wechat": None}, "wechat"),
    ({"schedule": {"type": "event", "event": "tag_gained"}}, "schedule.tag"),
])
def test_rules_that_break_a_rule_are_refused_naming_the_field(client, writer, overrides,
                                                               field):
    assert errors_of(client.post(RULES, headers=writer, json=body(**overrides))) == {field}


def test_bodies_the_schema_refuses_name_the_field(client, writer):
    response = client.post(RULES, headers=writer,
                           json=body(message={"title": "一" * 21, "body": "x"}, colour="red"))
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"message", "colour"}


def test_wechat_value_rules_are_checked_at_submit(client, writer):
    rule = draft(client, writer, wechat={"template_id": "tmpl-pension", "data": {
        "thing1": "养老金领取资格认证将于本月底截止，请尽快办理", "phrase2": "请尽快来办理",
        "time3": "{date} 09:00"}})
    response = step(client, writer, rule, "submit")
    assert errors_of(response) == {"wechat.data.thing1", "wechat.data.phrase2"}
    assert "20 个字符" in response.get_json()["errors"]["wechat.data.thing1"][0]
    assert client.get(f"{RULES}/{rule['id']}", headers=writer).get_json()["status"] == "draft"
