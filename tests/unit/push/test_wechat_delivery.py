"""The WeChat channel against the stub WeChat server: a run's recipients who consented get one
subscribe message, decided at send time (consent, mute, opt-out, quiet hours, the kill switch),
in chunks; the counts say what became of each."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import celery, db
from app.models.push import PushRule
from app.platform.clock import today_in_china
from app.platform.events import emit
from app.push import consent, wechat_delivery
from app.push.inbox import messages_for
from app.push.preferences import set_preferences
from app.push.rules import pause, resume, stop
from app.push.runs import start_run
from app.push.wechat_delivery import (
    deliver_chunk,
    deliver_run,
    send_due,
)
from tests.factories import create_admin, create_item, create_theme, create_user, file_case
from tests.unit.push.push_factories import people as tagged_people
from tests.wechat_factories import (
    CASE_PROGRESS,
    LONG_TERM,
    ONE_TIME,
    china,
    consent_to,
    create_people,
    create_wechat_rule,
    run_for,
    sends_of,
)
from tests.wechat_factories import counts_of as wechat_counts

# Each test starts with the send client's circuit closed, whatever the last one did.
pytestmark = pytest.mark.usefixtures("closed_breaker")


def prefer(user, *, muted=(), quiet_hours=None, wechat_enabled=True) -> None:
    set_preferences(user, muted_categories=list(muted), quiet_hours=quiet_hours,
                    wechat_enabled=wechat_enabled)
    db.session.commit()


def test_a_person_who_consented_gets_the_message_once_with_the_service_filled_in(
        wechat_stub):
    create_theme()
    create_item(code="GF00001001", name="社会保障卡申领")
    [person] = create_people(1)
    consent_to([person], LONG_TERM, stub=wechat_stub)
    run = run_for(create_wechat_rule(), [person])
    assert deliver_run(run.id) == 1
    deliver_run(run.id)  # the run's event handled twice: nobody hears twice
    [message] = wechat_stub.state.messages(person.openid)
    assert message["template_id"] == LONG_TERM
    assert message["data"]["thing1"] == {"value": "社会保障卡申领"}
    assert message["data"]["date3"] == {"value": today_in_china().isoformat()}
    assert message["page"] == f"pages/service/index?code=GF00001001&message={run.id}"
    send = sends_of(run)[person.id]
    assert send.status == "sent" and send.msgid == str(message["msgid"])
    assert send.attempts == 1 and send.sent_at is not None
    assert wechat_counts(run.rule_id)["sent"] == wechat_counts(run.rule_id)["delivered"] == 1


def test_a_case_event_message_names_the_case_and_opens_it(wechat_stub):
    create_theme()
    item = create_item(name="图书馆读者证办理", materials=[
        {"id": "m1", "name": "个人照片", "required": False}])
    applicant = create_user()
    case = file_case(user=applicant, code=item.code)
    consent_to([applicant], CASE_PROGRESS, stub=wechat_stub)
    run = run_for(create_wechat_rule(template_id=CASE_PROGRESS), [applicant])
    run.event_key = f"case:{case.id}:accepted"
    db.session.commit()
    deliver_run(run.id)
    [message] = wechat_stub.state.messages(applicant.openid)
    assert message["data"]["character_string1"] == {"value": case.case_no}
    assert message["data"]["thing2"] == {"value": "图书馆读者证办理"}
    assert message["page"] == f"pages/case/detail?no={case.case_no}&message={run.id}"


def test_a_run_of_a_wechat_rule_reaches_wechat_once_it_is_committed(wechat_stub):
    audience = tagged_people(2)
    consent_to(audience, LONG_TERM, stub=wechat_stub)
    run = start_run(create_wechat_rule(), trigger="once")
    assert wechat_stub.state.messages() == []
    db.session.commit()  # push.run_created is handed over after the commit (eagerly, in tests)
    assert sorted(m["touser"] for m in wechat_stub.state.messages()) == sorted(
        p.openid for p in audience)
    assert wechat_counts(run.rule_id)["sent"] == 2


def test_a_run_created_event_fans_the_run_out(wechat_stub):
    people = create_people(2)
    consent_to(people, LONG_TERM, stub=wechat_stub)
    run = run_for(create_wechat_rule(), people)
    emit("push.run_created", run_id=run.id)
    db.session.commit()  # handed to the subscribers after the commit (eagerly, in tests)
    assert len(wechat_stub.state.messages()) == 2


def test_without_consent_nothing_is_sent_and_the_inbox_still_has_it(wechat_stub):
    [person] = create_people(1)
    wechat_stub.state.set_credits(person.openid, LONG_TERM, 1)  # WeChat would take it
    run = run_for(create_wechat_rule(), [person])
    deliver_run(run.id)
    assert wechat_stub.state.messages() == []
    assert sends_of(run)[person.id].status == "no_consent"
    assert wechat_counts(run.rule_id)["skipped"]["no_consent"] == 1
    assert [item["id"] for item in messages_for(person).items] == [str(run.id)]


def test_a_one_time_consent_is_used_by_one_run(wechat_stub):
    [person] = create_people(1)
    consent_to([person], ONE_TIME, stub=wechat_stub)
    rule = create_wechat_rule(template_id=ONE_TIME)
    first, second = run_for(rule, [person]), run_for(rule, [person])
    deliver_run(first.id)
    deliver_run(second.id)
    assert len(wechat_stub.state.messages(person.openid)) == 1
    assert sends_of(second)[person.id].status == "no_consent"
    assert consent.credit_state(person.id, ONE_TIME)["credits"] == 0


def test_a_long_term_consent_keeps_sending(wechat_stub):
    [person] = create_people(1)
    consent_to([person], LONG_TERM, stub=wechat_stub)
    rule = create_wechat_rule()
    for _ in range(3):
        deliver_run(run_for(rule, [person]).id)
    assert len(wechat_stub.state.messages(person.openid)) == 3
    assert consent.credit_state(person.id, LONG_TERM)["can_send"]


def test_a_category_muted_after_the_snapshot_is_skipped_at_send_time(wechat_stub):
    muting, staying = create_people(2)
    consent_to([muting, staying], LONG_TERM, stub=wechat_stub)
    run = run_for(create_wechat_rule(category="licence"), [muting, staying])
    prefer(muting, muted=["licence"])
    deliver_run(run.id)
    assert [m["touser"] for m in wechat_stub.state.messages()] == [staying.openid]
    assert sends_of(run)[muting.id].status == "muted"
    assert wechat_counts(run.rule_id)["skipped"]["muted"] == 1


def test_a_person_who_turned_wechat_off_counts_as_opted_out(wechat_stub):
    [person] = create_people(1)
    consent_to([person], LONG_TERM, stub=wechat_stub)
    prefer(person, wechat_enabled=False)
    run = run_for(create_wechat_rule(), [person])
    deliver_run(run.id)
    assert wechat_stub.state.messages() == []
    assert wechat_counts(run.rule_id)["skipped"]["opted_out"] == 1


def test_quiet_hours_across_midnight_defer_the_message_until_they_end(wechat_stub):
    [person] = create_people(1)
    consent_to([person], ONE_TIME, stub=wechat_stub)
    prefer(person, quiet_hours={"start": "22:00", "end": "07:00"})
    run = run_for(create_wechat_rule(template_id=ONE_TIME), [person])
    deliver_chunk(run.id, 0, 1, now=china("2026-11-26 23:30"))
    send = sends_of(run)[person.id]
    assert send.status == "deferred" and send.not_before == china("2026-11-27 07:00")
    assert wechat_counts(run.rule_id)["skipped"]["quiet_hours"] == 1
    # The credit waits with the message: nothing is used until it goes.
    assert consent.credit_state(person.id, ONE_TIME)["credits"] == 1
    assert send_due(now=china("2026-11-27 06:59")) == 0
    assert send_due(now=china("2026-11-27 07:00")) == 1
    [message] = wechat_stub.state.messages(person.openid)
    assert message["data"]["date2"] == {"value": "2026-11-27"}  # the day it went
    assert sends_of(run)[person.id].status == "sent"
    assert wechat_counts(run.rule_id)["skipped"]["quiet_hours"] == 0


def test_an_urgent_rule_is_not_held_by_quiet_hours(wechat_stub):
    [person] = create_people(1)
    consent_to([person], LONG_TERM, stub=wechat_stub)
    prefer(person, quiet_hours={"start": "22:00", "end": "07:00"})
    run = run_for(create_wechat_rule(priority="urgent"), [person])
    deliver_chunk(run.id, 0, 1, now=china("2026-11-26 02:00"))
    assert len(wechat_stub.state.messages()) == 1


def test_a_deferred_message_is_not_sent_once_its_category_is_muted(wechat_stub):
    [person] = create_people(1)
    consent_to([person], LONG_TERM, stub=wechat_stub)
    prefer(person, quiet_hours={"start": "22:00", "end": "07:00"})
    run = run_for(create_wechat_rule(category="licence"), [person])
    deliver_chunk(run.id, 0, 1, now=china("2026-11-26 23:30"))
    prefer(person, muted=["licence"], quiet_hours={"start": "22:00", "end": "07:00"})
    send_due(now=china("2026-11-27 07:30"))
    assert wechat_stub.state.messages() == []
    assert sends_of(run)[person.id].status == "muted"


def test_the_recipients_are_split_into_chunks_by_rank(wechat_stub, monkeypatch):
    monkeypatch.setattr(wechat_delivery, "CHUNK_SIZE", 2)
    people = create_people(5)
    consent_to(people, LONG_TERM, stub=wechat_stub)
    run = run_for(create_wechat_rule(), people)
    assert deliver_run(run.id) == 3
    assert sorted(m["touser"] for m in wechat_stub.state.messages()) == sorted(
        p.openid for p in people)


def test_stopping_the_rule_mid_run_stops_further_sends(wechat_stub, monkeypatch):
    monkeypatch.setattr(wechat_delivery, "CHECK_EVERY", 1)
    people = create_people(4)
    consent_to(people, LONG_TERM, stub=wechat_stub)
    rule = create_wechat_rule()
    run = run_for(rule, people)
    real_attempt = wechat_delivery.attempt

    def attempt_then_stop(*args, **kwargs):
        result = real_attempt(*args, **kwargs)
        db.session.execute(sa.update(PushRule).where(PushRule.id == rule.id)
                           .values(status="stopped"))
        db.session.commit()  # an admin's stop, between two sends
        return result

    monkeypatch.setattr(wechat_delivery, "attempt", attempt_then_stop)
    done = deliver_chunk(run.id, 0, 4)
    assert len(wechat_stub.state.messages()) == 1
    assert done["sent"] == 1 and done["stopped"] == 1
    assert len(sends_of(run)) == 1


def test_stopping_a_rule_withdraws_its_deferred_messages(wechat_stub):
    [person] = create_people(1)
    consent_to([person], LONG_TERM, stub=wechat_stub)
    prefer(person, quiet_hours={"start": "22:00", "end": "07:00"})
    rule = create_wechat_rule()
    run = run_for(rule, [person])
    deliver_chunk(run.id, 0, 1, now=china("2026-11-26 23:30"))
    stop(create_admin(), rule.id)
    db.session.commit()
    assert send_due(now=china("2026-11-27 08:00")) == 0
    assert wechat_stub.state.messages() == []
    assert sends_of(run)[person.id].status == "stopped"


def test_a_paused_rule_sends_nothing_until_it_resumes(wechat_stub):
    people = create_people(2)
    consent_to(people, LONG_TERM, stub=wechat_stub)
    rule = create_wechat_rule()
    run = run_for(rule, people)
    admin = create_admin()
    pause(admin, rule.id)
    db.session.commit()
    assert deliver_run(run.id) == 0
    assert wechat_stub.state.messages() == []
    resume(admin, rule.id)
    db.session.commit()  # push.rule_resumed queues the rule's runs again
    assert len(wechat_stub.state.messages()) == 2
    assert wechat_counts(run.rule_id)["sent"] == 2


def test_a_rule_without_the_wechat_channel_sends_nothing(wechat_stub):
    [person] = create_people(1)
    consent_to([person], LONG_TERM, stub=wechat_stub)
    run = run_for(create_wechat_rule(channels=("inbox",)), [person])
    assert deliver_run(run.id) == 0
    assert wechat_stub.state.messages() == [] and sends_of(run) == {}


def test_beat_starts_the_deferred_sends_and_the_claim_sweep_every_minute(app_context):
    for entry in ("push-send-deferred", "push-sweep-wechat-claims"):
        scheduled = celery.conf.beat_schedule[entry]
        assert scheduled["task"] in celery.tasks and scheduled["schedule"] == 60.0
