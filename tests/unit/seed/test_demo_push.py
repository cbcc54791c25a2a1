"""The demo's push rules: approved, active, and already run, so the demo people have messages."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.identity.admin_accounts import find_admin
from app.models import Bundle, ServiceItem, User
from app.models.push import PushRule, PushRun
from app.seed import seed_demo
from tests.unit.push.push_factories import recipients


def person(openid: str) -> int:
    return db.session.scalar(sa.select(User.id).where(User.openid == openid))


def test_demo_rules_are_approved_and_have_reached_the_demo_people(app_context):
    seed_demo()
    rules = {r.target_kind: r for r in db.session.scalars(sa.select(PushRule))}
    assert set(rules) == {"service", "bundle"}
    admin, approver = find_admin("admin"), find_admin("approver")
    for rule in rules.values():
        assert rule.status == "active" and rule.schedule_type == "cron"
        assert (rule.created_by, rule.approved_by) == (admin.id, approver.id)
        assert rule.reason and rule.next_run_at is not None
    licence, retirement = rules["service"], rules["bundle"]
    assert db.session.scalar(sa.select(ServiceItem.name).where(
        ServiceItem.code == licence.target_code)) == "机动车驾驶证期满换证"
    assert db.session.scalar(sa.select(Bundle.name).where(
        Bundle.code == retirement.target_code)) == "退休一件事"
    runs = {run.rule_id: run for run in db.session.scalars(sa.select(PushRun))}
    assert set(runs) == {licence.id, retirement.id}
    assert all(run.status == "done" for run in runs.values())
    # 小李's licence expires within 30 days; 老王 (born 1966) is near retirement.
    assert recipients(runs[licence.id]) == {person("demo-citizen-1")}
    assert person("demo-citizen-2") in recipients(runs[retirement.id])


def test_seeding_the_rules_again_changes_nothing(app_context):
    seed_demo()
    assert seed_demo()["push rules"] == 0
    assert db.session.scalar(sa.select(sa.func.count(PushRun.id))) == 2
