"""Scheduled rules: a `once` rule runs when due (or as soon as it is approved) and finishes, a
`cron` rule runs and moves on to its next time in China time, none past its end, none twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models.push import PushRule, PushRun
from app.platform import events
from app.platform.orm import utcnow
from app.push import scheduling
from app.push.scheduling import next_run_after, run_due, run_if_due
from app.push.tasks import run_due_task
from tests.unit.push.push_factories import create_rule, ids, people, recipients

NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)  # Wednesday, 12:00 in China


def runs_of(rule: PushRule) -> list[PushRun]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(PushRun).where(PushRun.rule_id == rule.id)))


def test_cron_times_are_read_in_china_time():
    # 09:00 every day in China is 01:00 UTC; at 12:00 China time the next one is tomorrow's.
    assert next_run_after("0 9 * * *", NOW) == datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    assert next_run_after("0 9 * * *", datetime(2026, 11, 25, 0, 30, tzinfo=UTC)) == \
        datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def test_a_due_once_rule_runs_and_finishes(app_context):
    users = people(2)
    rule = create_rule(schedule_type="once", next_run_at=NOW - timedelta(seconds=5))
    assert run_due(NOW) == 1
    [run] = runs_of(rule)
    assert run.trigger == "once" and recipients(run) == ids(users)
    assert (rule.status, rule.next_run_at) == ("finished", None)
    assert run_due(NOW + timedelta(minutes=1)) == 0 and len(runs_of(rule)) == 1


def test_a_rule_not_yet_due_or_not_active_waits(app_context):
    people(1)
    later = create_rule(schedule_type="once", next_run_at=NOW + timedelta(minutes=1))
    paused = create_rule(schedule_type="once", next_run_at=NOW, status="paused")
    assert run_due(NOW) == 0
    assert runs_of(later) == [] and runs_of(paused) == []


def test_a_cron_rule_runs_and_moves_on_to_its_next_time(app_context):
    people(1)
    rule = create_rule(cron="0 9 * * *", next_run_at=NOW - timedelta(hours=3))
    assert run_due(NOW) == 1
    db.session.refresh(rule)
    assert rule.status == "active"
    assert rule.next_run_at == datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    assert run_due(NOW + timedelta(hours=1)) == 0
    assert run_due(rule.next_run_at) == 1
    assert [run.trigger for run in runs_of(rule)] == ["cron", "cron"]
    assert rule.next_run_at == datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


def test_a_cron_rule_finishes_at_its_end(app_context):
    people(1)
    rule = create_rule(cron="0 9 * * *", next_run_at=NOW - timedelta(minutes=1),
                       ends_at=NOW + timedelta(hours=6))
    assert run_due(NOW) == 1  # the last run before the end
    assert (rule.status, rule.next_run_at) == ("finished", None)
    over = create_rule(cron="0 9 * * *", next_run_at=NOW - timedelta(minutes=1),
                       ends_at=NOW - timedelta(seconds=1))
    assert run_due(NOW) == 0  # past its end: finished without a run
    assert over.status == "finished" and runs_of(over) == []


def test_a_rule_taken_by_one_worker_is_not_run_by_another(app_context):
    people(1)
    rule = create_rule(cron="0 9 * * *", next_run_at=NOW - timedelta(minutes=1))
    assert run_if_due(rule.id, NOW) is not None
    # The second worker asks after the first moved the rule on (in its transaction).
    assert run_if_due(rule.id, NOW) is None
    db.session.commit()
    assert len(runs_of(rule)) == 1


def test_a_rule_that_fails_to_run_is_tried_again_and_holds_no_other_back(app_context,
                                                                        monkeypatch):
    people(1)
    broken = create_rule(name="坏规则", schedule_type="once", next_run_at=NOW - timedelta(hours=1))
    fine = create_rule(name="好规则", schedule_type="once", next_run_at=NOW)
    real_start = scheduling.start_run

    def failing(rule, **kwargs):
        if rule.id == broken.id:
            raise RuntimeError("index unavailable")
        return real_start(rule, **kwargs)

    monkeypatch.setattr(scheduling, "start_run", failing)
    assert run_due(NOW) == 1
    db.session.expire_all()
    assert broken.status == "active" and broken.next_run_at is not None  # rolled back
    assert fine.status == "finished"
    monkeypatch.setattr(scheduling, "start_run", real_start)
    assert run_due(NOW) == 1 and len(runs_of(broken)) == 1


def test_approval_runs_a_once_rule_at_once(app_context):
    users = people(2)
    rule = create_rule(schedule_type="once", status="approved")
    # What the approval does: the rule becomes active, due now, and says so.
    rule.status, rule.next_run_at = "active", utcnow()
    events.emit("push.rule_approved", rule_id=rule.id)
    db.session.commit()  # the event is handed over at once (eager tasks)
    [run] = runs_of(rule)
    assert recipients(run) == ids(users) and rule.status == "finished"


def test_the_beat_task_runs_due_rules(app_context):
    people(1)
    rule = create_rule(schedule_type="once", next_run_at=utcnow() - timedelta(seconds=1))
    assert run_due_task.delay().get() == 1
    assert len(runs_of(rule)) == 1
