"""Push rules in the domain: what is checked when a rule is written and before it may send
(WeChat's value rules among them), how columns hold what admins wrote, and the lifecycle with
its four-eyes approval, audit entries and events for the runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEntry
from app.models.event import DomainEvent
from app.platform.errors import Conflict, Forbidden, InvalidInput
from app.platform.orm import utcnow
from app.push import rules
from app.push.rule_checks import checked, cron_problem
from tests.factories import create_admin, create_certificate_type, create_item, create_theme

# A Thursday, 09:30 in China.
NOW = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)
ITEM_CODE = "GF00001001"


@pytest.fixture
def catalog(app_context):
    create_theme()
    return create_item(code=ITEM_CODE, name="养老金资格认证")


@pytest.fixture
def author(catalog):
    return create_admin(username="writer", roles=("push_admin",))


@pytest.fixture
def approver(app_context):
    return create_admin(username="checker", roles=("push_approver",))


def spec(**overrides: Any) -> dict[str, Any]:
    """A rule every check passes, but for `overrides`."""
    return {"name": "养老金资格认证提醒", "audience": "region:5301  and age:60+",
            "category": "pension", "message": {"title": "养老金资格认证",
                                               "body": "请在本月内完成认证。",
                                               "service_code": ITEM_CODE},
            "channels": ["wechat", "inbox"],
            "wechat": {"template_id": "tmpl-1", "data": {"thing1": "{service_name}",
                                                         "time2": "{date} 09:00"}},
            "schedule": {"type": "once"}, **overrides}


def problems(**overrides: Any) -> dict[str, list[str]]:
    """The fields a spec is refused for, when checked for sending."""
    with pytest.raises(InvalidInput) as refused:
        checked(spec(**overrides), now=NOW, sending=True)
    return refused.value.errors


def submitted(author, **overrides: Any):
    rule = rules.create(author, spec(**overrides))
    return rules.submit(author, rule.id)


def audit_of(rule_id: int) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.target_type == "push_rule", AuditEntry.target_id == str(rule_id))
        .order_by(AuditEntry.id)))


def events(name: str) -> list[dict]:
    db.session.flush()
    return [e.payload for e in db.session.scalars(sa.select(DomainEvent).where(
        DomainEvent.name == name))]


def test_a_new_rule_is_a_draft_keeping_the_canonical_audience(author):
    rule = rules.create(author, spec())
    shown = rules.view_of(rule)
    assert (shown["status"], shown["created_by"], shown["audience"]) == (
        "draft", str(author.id), "age:60+ AND region:5301")
    assert shown["channels"] == ["inbox", "wechat"]
    assert (rule.target_kind, rule.target_code, rule.schedule_type) == ("service", ITEM_CODE,
                                                                        "once")


@pytest.mark.parametrize("schedule", [
    {"type": "once", "at": NOW + timedelta(days=1)},
    {"type": "cron", "expression": "0 9 * * 1"},
    {"type": "event", "event": "case_moved", "status": "approved"},
    {"type": "event", "event": "case_overdue"},
    {"type": "event", "event": "certificate_expiring", "days": 30,
     "certificate_type": "driving_licence"},
    {"type": "event", "event": "tag_gained", "tag": "life:*"},
])
def test_what_an_admin_wrote_comes_back_from_the_columns(author, schedule):
    create_certificate_type()
    written = spec(schedule=schedule, frequency_cap={"per_week": 2}, reason="到期提醒",
                   priority="urgent", ends_at=NOW + timedelta(days=60))
    rule = rules.create(author, written, now=NOW)
    db.session.expire(rule)
    assert rules.spec_of(rule) == checked(written, now=NOW)
    if schedule.get("certificate_type"):
        assert rule.event_params == {"days": 30, "type": "driving_licence"}


def test_a_case_page_target_needs_a_case_event(author):
    assert problems(message={"title": "进度", "body": "您的办件有新进展", "case_page": True},
                    channels=["inbox"], wechat=None
                    ) == {"message.case_page": ["只有办件事件触发的规则可以跳转到办件页"]}
    rule = rules.create(author, spec(
        message={"title": "进度", "body": "您的办件有新进展", "case_page": True},
        schedule={"type": "event", "event": "case_moved"},
        wechat={"template_id": "t", "data": {"character_string1": "{case_no}"}}))
    assert (rule.target_kind, rule.target_code) == ("case", "")
    assert rules.spec_of(rule)["message"]["case_page"] is True


@pytest.mark.parametrize(("overrides", "field"), [
    ({"audience": "region:5301 AND (age:60+"}, "audience"),
    ({"category": "Pension"}, "category"),
    ({"name": " "}, "name"),
    ({"message": {"title": "一" * 21, "body": "x", "service_code": ITEM_CODE}}, "message.title"),
    ({"message": {"title": "x", "body": "一" * 201, "service_code": ITEM_CODE}}, "message.body"),
    ({"message": {"title": "x", "body": "请联系 13800001234", "service_code": ITEM_CODE}},
     "message.body"),
    ({"message": {"title": "x", "body": "y", "service_code": "GF99999001"}},
     "message.service_code"),
    ({"message": {"title": "x", "body": "y", "bundle_code": "B404"}}, "message.bundle_code"),
    ({"message": {"title": "x", "body": "y", "service_code": ITEM_CODE, "bundle_code": "B1"}},
     "message"),
    ({"channels": []}, "channels"),
    ({"channels": ["sms"]}, "channels"),
    ({"wechat": None}, "wechat"),
    ({"wechat": {"template_id": "t", "data": {}}}, "wechat.data"),
    ({"wechat": {"template_id": "t", "data": {"colour1": "红"}}}, "wechat.data.colour1"),
    ({"wechat": {"template_id": "t", "data": {"thing1": "{case_no}"}}}, "wechat.data.thing1"),
    ({"wechat": {"template_id": "t", "data": {"thing1": "{name}"}}}, "wechat.data.thing1"),
    ({"schedule": {"type": "once", "at": NOW - timedelta(minutes=1)}}, "schedule.at"),
    ({"schedule": {"type": "once", "at": NOW + timedelta(days=2000)}}, "schedule.at"),
    ({"schedule": {"type": "once", "expression": "0 9 * * *"}}, "schedule.expression"),
    ({"schedule": {"type": "cron", "expression": "*/30 9 * * *"}}, "schedule.expression"),
    ({"schedule": {"type": "event", "event": "birthday"}}, "schedule.event"),
    ({"schedule": {"type": "event", "event": "case_moved", "status": "lost"}},
     "schedule.status"),
    ({"schedule": {"type": "event", "event": "certificate_expiring"}}, "schedule.days"),
    ({"schedule": {"type": "event", "event": "certificate_expiring", "days": 0}},
     "schedule.days"),
    ({"schedule": {"type": "event", "event": "certificate_expiring", "days": 3,
                   "certificate_type": "passport"}}, "schedule.certificate_type"),
    ({"schedule": {"type": "event", "event": "tag_gained", "tag": "*"}}, "schedule.tag"),
    ({"schedule": {"type": "event", "event": "case_overdue", "days": 3}}, "schedule.days"),
    ({"frequency_cap": {"per_day": 0}}, "frequency_cap.per_day"),
    ({"frequency_cap": {"per_week": 101}}, "frequency_cap.per_week"),
    ({"priority": "high"}, "priority"),
    ({"ends_at": NOW}, "ends_at"),
    ({"schedule": {"type": "once", "at": NOW + timedelta(days=2)},
      "ends_at": NOW + timedelta(days=1)}, "ends_at"),
    ({"schedule": {"type": "cron", "expression": "0 9 1 1 *"},
      "ends_at": NOW + timedelta(days=7)}, "ends_at"),
])
def test_a_rule_that_breaks_a_rule_is_refused_naming_the_field(catalog, overrides, field):
    assert set(problems(**overrides)) == {field}


def test_a_bad_audience_is_named_with_its_offset(catalog):
    assert problems(audience="region:5301 AND")["audience"][0].startswith("offset 15")


def test_every_problem_is_reported_at_once(catalog):
    with pytest.raises(InvalidInput) as refused:
        checked(spec(name="", category="", priority="x"), now=NOW)
    assert set(refused.value.errors) == {"name", "category", "priority"}
    assert refused.value.message.endswith("（共 3 处需要修改）")


@pytest.mark.parametrize(("expression", "allowed"), [
    ("0 * * * *", True), ("15 9 * * 1-5", True), ("@daily", True), ("0 9 L * *", True),
    ("* * * * *", False), ("0,30 * * * *", False), ("*/5 9 * * *", False),
    ("0 9 * * * 30", False), ("0 0 30 2 *", False), ("nonsense", False), ("", False),
    ("0 9 * * * *", False),
])
def test_cron_rules_run_at_most_hourly_in_five_fields(expression, allowed):
    assert (cron_problem(expression, NOW) is None) is allowed


@pytest.mark.parametrize(("key", "value"), [
    ("thing1", "养老金资格认证已开始，请及时办理"), ("thing1", "{service_name}"),
    ("number2", "123.5"), ("letter3", "ABC"), ("symbol4", "%"),
    ("character_string5", "GF-0001"), ("character_string5", "{date}"),
    ("time6", "15:01"), ("time6", "{date} 09:00"), ("time6", "2026年11月26日 09:00~18:00"),
    ("date7", "2026-11-26"), ("date7", "{date}"), ("amount8", "¥100.50"), ("amount8", "30元"),
    ("phone_number9", "0871-12345"), ("car_number10", "云A12345"), ("name11", "李明"),
    ("name11", "Li Ming"), ("phrase12", "已受理"),
])
def test_values_wechat_takes_pass_at_submit(catalog, key, value):
    checked(spec(wechat={"template_id": "t", "data": {key: value}}), now=NOW, sending=True)


@pytest.mark.parametrize(("key", "value"), [
    ("thing1", "一" * 21), ("thing1", "办理{service_name}"), ("number2", "12a"),
    ("number2", "1.2.3"), ("letter3", "AB1"), ("letter3", "A" * 33), ("symbol4", "%%%%%%"),
    ("character_string5", "中文"), ("character_string5", "x" * 33), ("time6", "25:00"),
    ("time6", "明天"), ("date7", "11/26"), ("amount8", "100.5美元"), ("amount8", "¥1,000"),
    ("phone_number9", "0871-1234-5678-999"), ("car_number10", "云A1234567"), ("name11", "李" * 11),
    ("phrase12", "已受理完毕了"), ("phrase12", "ok"), ("number2", "{date}"),
])
def test_values_wechat_refuses_are_caught_at_submit_not_in_a_draft(catalog, key, value):
    wechat = {"template_id": "t", "data": {key: value}}
    checked(spec(wechat=wechat), now=NOW)  # a draft may still hold it
    assert set(problems(wechat=wechat)) == {f"wechat.data.{key}"}


def test_personal_numbers_are_refused_in_every_text(catalog):
    number = "53010219491231002X"
    for overrides, field in (({"name": f"提醒{number}"}, "name"),
                             ({"reason": number}, "reason"),
                             ({"wechat": {"template_id": "t", "data": {"thing1": number}}},
                              "wechat.data.thing1")):
        with pytest.raises(InvalidInput) as refused:
            checked(spec(**overrides), now=NOW)
        assert "个人号码" in refused.value.errors[field][0]


def test_the_author_cannot_approve_their_own_rule(author):
    rule = submitted(author)
    with pytest.raises(Forbidden) as refused:
        rules.approve(author, rule.id)
    assert refused.value.error == "self_approval"
    assert "另一位" in refused.value.message


def test_an_approver_who_edited_the_rule_cannot_approve_it(author):
    editor = create_admin(username="both", roles=("push_admin", "push_approver"))
    rule = rules.create(author, spec())
    rules.edit(editor, rule.id, {"name": "新名称"})
    rules.submit(author, rule.id)
    with pytest.raises(Forbidden):
        rules.approve(editor, rule.id)


@pytest.mark.parametrize(("schedule", "first_run"), [
    ({"type": "once"}, NOW),
    ({"type": "once", "at": NOW + timedelta(hours=5)}, NOW + timedelta(hours=5)),
    # Monday 09:00 in China.
    ({"type": "cron", "expression": "0 9 * * 1"}, datetime(2026, 11, 30, 1, 0, tzinfo=UTC)),
    ({"type": "event", "event": "case_overdue"}, None),
])
def test_approval_makes_the_rule_live_and_due(author, approver, schedule, first_run):
    rule = rules.create(author, spec(schedule=schedule), now=NOW)
    rules.submit(author, rule.id, now=NOW)
    rules.approve(approver, rule.id, now=NOW)
    assert (rule.status, rule.approved_by, rule.approved_at) == ("active", approver.id, NOW)
    assert rule.next_run_at == first_run
    assert rules.is_live(rule, NOW)
    assert events("push.rule_approved") == [{"rule_id": rule.id}]


def test_submit_checks_what_a_draft_may_still_lack(author):
    wechat = {"template_id": "t", "data": {"phrase1": "请尽快来办理"}}  # six characters
    rule = rules.create(author, spec(wechat=wechat))
    with pytest.raises(InvalidInput) as refused:
        rules.submit(author, rule.id)
    assert set(refused.value.errors) == {"wechat.data.phrase1"}
    assert rule.status == "draft"


def test_the_whole_lifecycle_is_audited_with_events_for_the_runs(author, approver):
    rule = submitted(author)
    rules.approve(approver, rule.id)
    rules.pause(author, rule.id)
    rules.resume(approver, rule.id)
    rules.stop(author, rule.id)
    assert rule.status == "stopped" and rule.next_run_at is None
    entries = audit_of(rule.id)
    assert [(e.action, e.actor_id) for e in entries] == [
        ("push_rule.create", author.id), ("push_rule.submit", author.id),
        ("push_rule.approve", approver.id), ("push_rule.pause", author.id),
        ("push_rule.resume", approver.id), ("push_rule.stop", author.id)]
    assert entries[2].details["before"]["status"] == "submitted"
    assert entries[2].details["after"]["approved_by"] == approver.id
    for name in ("push.rule_approved", "push.rule_paused", "push.rule_resumed",
                 "push.rule_stopped"):
        assert events(name) == [{"rule_id": rule.id}]


def test_a_rejected_rule_is_edited_back_into_a_draft_with_before_and_after(author, approver):
    rule = submitted(author)
    rules.reject(approver, rule.id, "标题请写明截止日期")
    assert (rule.status, rule.review_note) == ("rejected", "标题请写明截止日期")
    rules.edit(author, rule.id, {"message": {
        "title": "本月底前认证", "body": "请在本月内完成认证。", "service_code": ITEM_CODE}})
    assert rule.status == "draft"
    update = audit_of(rule.id)[-1]
    assert update.action == "push_rule.update"
    assert update.details == {
        "before": {"message": {"title": "养老金资格认证", "body": "请在本月内完成认证。",
                               "service_code": ITEM_CODE}, "status": "rejected"},
        "after": {"message": {"title": "本月底前认证", "body": "请在本月内完成认证。",
                              "service_code": ITEM_CODE}, "status": "draft"}}


@pytest.mark.parametrize(("move", "status"), [
    ("approve", "draft"), ("reject", "draft"), ("pause", "draft"), ("resume", "submitted"),
    ("submit", "submitted"), ("stop", "submitted"), ("pause", "paused"), ("resume", "active"),
    ("submit", "active"), ("approve", "stopped"), ("resume", "stopped"),
])
def test_a_move_the_state_forbids_is_a_conflict_naming_both(author, approver, move, status):
    rule = rules.create(author, spec())
    rule.status = status
    db.session.flush()
    with pytest.raises(Conflict) as refused:
        if move == "reject":
            rules.reject(approver, rule.id, "不行")
        else:
            getattr(rules, move)(approver, rule.id)
    assert refused.value.error == "illegal_transition"
    assert rules.STATUS_NAMES[status] in refused.value.message
    assert rules.MOVE_NAMES[move] in refused.value.message


@pytest.mark.parametrize("status", ["submitted", "active", "paused", "stopped"])
def test_only_drafts_and_rejected_rules_can_be_edited(author, status):
    rule = rules.create(author, spec())
    rule.status = status
    with pytest.raises(Conflict) as refused:
        rules.edit(author, rule.id, {"name": "改名"})
    assert "只有草稿或已驳回的规则可以修改" in refused.value.message


def test_a_rule_past_its_end_is_finished_but_can_still_be_stopped(author, approver):
    rule = submitted(author, ends_at=utcnow() + timedelta(days=1))
    rules.approve(approver, rule.id)
    later = utcnow() + timedelta(days=2)
    assert (rules.status_at(rule, later), rules.is_live(rule, later)) == ("finished", False)
    with pytest.raises(Conflict):
        rules.pause(author, rule.id, now=later)
    page = rules.rules_page(page=1, per_page=10, status="finished", now=later)
    assert [item["id"] for item in page.items] == [str(rule.id)]
    assert rules.rules_page(page=1, per_page=10, status="active", now=later).total == 0
    rules.stop(author, rule.id, now=later)
    assert rule.status == "stopped"
