"""Event rules: a moved, finished or overdue case tells its applicant, an expiring certificate
its holder, a gained tag its new carrier — each in a one-person run, once per event."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from app.cases.lifecycle import mark_overdue
from app.extensions import db, redis_store
from app.models.event import DomainEvent
from app.models.push import PushRun
from app.platform import events
from app.platform.clock import CHINA_TZ, today_in_china
from app.platform.local_views import local_state
from app.platform.orm import utcnow
from app.push import memberships
from app.push.tasks import certificate_expiring_task
from app.push.triggers import TAG_CURSOR_KEY, follow_tag_gains, remind_expiring_certificates
from tests.factories import (
    create_certificate_type,
    create_item,
    create_theme,
    create_user,
    file_case,
    finish_case,
    issue_certificate,
)
from tests.unit.push.push_factories import create_rule, people, recipients


def runs_of(rule) -> list[PushRun]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(PushRun).where(PushRun.rule_id == rule.id)
                                   .order_by(PushRun.id)))


@pytest.fixture
def item(app_context):
    create_theme()
    return create_item(materials=[])


def test_an_approved_case_tells_its_applicant_once(item):
    applicant, bystander = create_user(), create_user()
    rule = create_rule(schedule_type="event", event="case_moved",
                       event_params={"status": "approved"})
    case = file_case(user=applicant, code=item.code)
    file_case(user=bystander, code=item.code)
    assert runs_of(rule) == []  # submitted, accepted: not the status the rule waits for
    finish_case(case=case)
    # case.moved and case.finished both said so: one run, for the applicant alone.
    [run] = runs_of(rule)
    assert run.event_key == f"case:{case.id}:approved" and run.trigger == "event"
    assert recipients(run) == {applicant.id} and run.targeted == 1


def test_a_case_event_handled_twice_makes_one_run(item):
    applicant = create_user()
    rule = create_rule(schedule_type="event", event="case_moved")
    case = file_case(user=applicant, code=item.code)
    finish_case(case=case)
    assert [r.event_key for r in runs_of(rule)] == [f"case:{case.id}:accepted",
                                                    f"case:{case.id}:approved"]
    # The sweep hands the same events over again (a worker died before marking them).
    handed = list(db.session.scalars(sa.select(DomainEvent.id).where(
        DomainEvent.name.in_(["case.moved", "case.finished"]))))
    db.session.execute(sa.update(DomainEvent).values(dispatched_at=None))
    db.session.commit()
    events.dispatch(handed)
    assert len(runs_of(rule)) == 2


def test_a_rule_waiting_for_another_status_or_audience_stays_silent(item):
    applicant = create_user()
    rejected = create_rule(schedule_type="event", event="case_moved",
                           event_params={"status": "rejected"})
    newborn = create_rule(schedule_type="event", event="case_moved", audience="life:newborn",
                          name="新生儿")
    finish_case(case=file_case(user=applicant, code=item.code))
    assert runs_of(rejected) == [] and runs_of(newborn) == []


def test_an_overdue_case_tells_its_applicant(item):
    applicant = create_user()
    rule = create_rule(schedule_type="event", event="case_overdue")
    case = file_case(user=applicant, code=item.code)
    mark_overdue(case, utcnow())
    db.session.commit()
    [run] = runs_of(rule)
    assert run.event_key == f"case:{case.id}:overdue" and recipients(run) == {applicant.id}


def test_a_stopped_or_ended_event_rule_stays_silent(item):
    applicant = create_user()
    stopped = create_rule(schedule_type="event", event="case_moved", status="stopped")
    ended = create_rule(schedule_type="event", event="case_moved",
                        ends_at=utcnow() - timedelta(minutes=1))
    finish_case(case=file_case(user=applicant, code=item.code))
    assert runs_of(stopped) == [] and runs_of(ended) == []


def test_certificates_expiring_in_n_days_remind_their_holders_once(app_context):
    holder, later_holder = create_user(), create_user()
    kind = create_certificate_type()
    today = today_in_china()
    noon = datetime.combine(today + timedelta(days=30), time(12), CHINA_TZ)
    certificate = issue_certificate(kind=kind, holder=holder, expires_at=noon)
    issue_certificate(kind=kind, holder=later_holder, expires_at=noon + timedelta(days=2))
    rule = create_rule(schedule_type="event", event="certificate_expiring",
                       event_params={"days": 30, "type": "driving_licence"})
    other_type = create_rule(schedule_type="event", event="certificate_expiring",
                             event_params={"days": 30, "type": "id_card"}, name="身份证")
    assert remind_expiring_certificates(today) == 1
    [run] = runs_of(rule)
    assert run.event_key == f"cert:{certificate.id}:30" and recipients(run) == {holder.id}
    assert runs_of(other_type) == []
    # The next day's task looks at yesterday's window too, and the key keeps it once.
    assert certificate_expiring_task.delay().get() == 0
    assert remind_expiring_certificates(today + timedelta(days=1)) == 0
    assert len(runs_of(rule)) == 1


def test_gaining_a_watched_tag_tells_the_person_once(app_context):
    [before] = people(1, "life:newborn")  # carried it before the rule was approved
    rule = create_rule(schedule_type="event", event="tag_gained",
                       event_params={"tag": "life:*"})
    assert follow_tag_gains() == 0
    gainer, other = people(2)
    memberships.grant(gainer.id, "life:newborn", source="manual")
    memberships.grant(other.id, "region:530102", source="manual")
    db.session.commit()
    assert follow_tag_gains() == 1
    [run] = runs_of(rule)
    assert recipients(run) == {gainer.id} and run.event_key.startswith("tag:")
    assert follow_tag_gains() == 0
    # With its place in the log lost, the log is read again and the keys keep it once.
    redis_store.attempt(lambda r: r.delete(TAG_CURSOR_KEY), None)
    local_state(current_app).pop(TAG_CURSOR_KEY)
    assert follow_tag_gains() == 0
    assert [r.id for r in runs_of(rule)] == [run.id] and before.id not in recipients(run)


def test_a_tag_lost_and_gained_again_is_a_new_gain(app_context):
    [user] = people(1)
    rule = create_rule(schedule_type="event", event="tag_gained",
                       event_params={"tag": "life:newborn"})
    follow_tag_gains()
    memberships.grant(user.id, "life:newborn", source="manual")
    db.session.commit()
    memberships.revoke(user.id, "life:newborn")
    memberships.grant(user.id, "life:newborn", source="manual")
    db.session.commit()
    assert follow_tag_gains() == 2
    assert len(runs_of(rule)) == 2


def test_a_resumed_rule_that_is_due_runs_at_once(app_context):
    [user] = people(1)
    rule = create_rule(schedule_type="once", next_run_at=utcnow())
    events.emit("push.rule_resumed", rule_id=rule.id)
    db.session.commit()
    [run] = runs_of(rule)
    assert recipients(run) == {user.id}


def test_tag_gains_are_followed_while_redis_is_down(app_context, monkeypatch):
    [user] = people(1)
    rule = create_rule(schedule_type="event", event="tag_gained",
                       event_params={"tag": "life:newborn"})
    monkeypatch.setattr(redis_store, "attempt", lambda operation, fallback, **kw: fallback)
    follow_tag_gains()
    memberships.grant(user.id, "life:newborn", source="manual")
    db.session.commit()
    assert follow_tag_gains() == 1
    assert follow_tag_gains() == 0 and len(runs_of(rule)) == 1
