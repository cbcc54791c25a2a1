"""Push runs: the audience snapshot is the delivery, minus the muted and the capped, counted by
reason; event runs are one person's and once per event; the kill switch withdraws them."""

from __future__ import annotations

import sqlalchemy as sa
from pyroaring import BitMap

from app.extensions import db
from app.models.push import SKIP_REASONS, PushRun
from app.platform import events
from app.push import runs
from app.push.audiences import preview
from app.push.index import IndexView
from app.push.preferences import set_preferences
from app.push.runs import start_run, stop_rule_runs
from tests.unit.push.push_factories import create_rule, ids, people, recipients


def mute(user, *categories: str) -> None:
    set_preferences(user, muted_categories=list(categories), quiet_hours=None,
                    wechat_enabled=True)
    db.session.commit()


def test_a_run_reaches_the_audience_and_its_counts_add_up_to_the_preview(app_context):
    inside = people(4, "region:530102")
    outside = people(2, "region:530103")
    mute(inside[0], "licence")
    mute(outside[0], "licence")
    rule = create_rule(audience="region:5301 AND NOT region:530103")
    run = start_run(rule, trigger="cron")
    db.session.commit()
    assert run.status == "done" and run.finished_at is not None
    assert (run.title, run.body, run.category) == (rule.title, rule.body, rule.category)
    assert recipients(run) == ids(inside[1:])
    assert set(run.skipped) == set(SKIP_REASONS)
    assert run.skipped["muted"] == 1 and run.skipped["capped"] == 0
    assert run.skipped["quiet_hours"] == run.skipped["no_consent"] == 0
    size = preview(rule.audience)["audience_size"]
    assert size == run.targeted == run.delivered + sum(run.skipped.values()) == 4
    assert run.index_seq > 0


def test_a_person_who_muted_another_category_still_hears(app_context):
    [user] = people(1)
    mute(user, "pension")
    run = start_run(create_rule(category="licence"), trigger="once")
    assert recipients(run) == {user.id} and run.skipped["muted"] == 0


def test_an_event_run_is_for_its_one_person_when_they_are_in_the_audience(app_context):
    member, other = people(2, "life:newborn")
    [stranger] = people(1)
    rule = create_rule(audience="life:newborn", schedule_type="event", event="case_moved")
    run = start_run(rule, trigger="event", event_key="case:1:approved", only_user=member.id)
    assert recipients(run) == {member.id} and run.targeted == run.delivered == 1
    assert run.event_key == "case:1:approved" and run.trigger == "event"
    # Someone outside the audience: the rule does not concern them, nothing is recorded.
    assert start_run(rule, trigger="event", event_key="case:2:approved",
                     only_user=stranger.id) is None
    assert db.session.scalar(sa.select(sa.func.count(PushRun.id))) == 1
    assert other.id not in recipients(run)


def test_a_muted_person_gets_an_event_run_that_tells_them_nothing(app_context):
    [user] = people(1)
    mute(user, "licence")
    rule = create_rule(schedule_type="event", event="case_moved")
    run = start_run(rule, trigger="event", event_key="case:7:approved", only_user=user.id)
    assert run.delivered == 0 and run.skipped["muted"] == 1 and recipients(run) == set()


def test_the_same_event_runs_once(app_context):
    [user] = people(1)
    rule = create_rule(schedule_type="event", event="case_moved")
    first = start_run(rule, trigger="event", event_key="case:9:approved", only_user=user.id)
    db.session.commit()
    assert first is not None
    assert start_run(rule, trigger="event", event_key="case:9:approved",
                     only_user=user.id) is None
    assert db.session.scalar(sa.select(sa.func.count(PushRun.id))) == 1


def test_a_duplicate_racing_past_the_check_is_refused_by_the_constraint(app_context,
                                                                        monkeypatch):
    [user] = people(1)
    rule = create_rule(schedule_type="event", event="case_moved")
    start_run(rule, trigger="event", event_key="case:9:approved", only_user=user.id)
    db.session.commit()
    monkeypatch.setattr(runs, "_ran_for", lambda rule_id, key: False)  # the other worker's view
    assert start_run(rule, trigger="event", event_key="case:9:approved",
                     only_user=user.id) is None
    db.session.commit()  # only the savepoint was rolled back: the transaction goes on
    assert db.session.scalar(sa.select(sa.func.count(PushRun.id))) == 1


def test_a_province_of_a_million_people_is_one_bitmap(app_context):
    everyone = BitMap(range(1, 3_000_000, 3))  # a million ids, as a fake index holds them
    muted = BitMap(range(1, 300_000, 3))  # a hundred thousand of them
    source = IndexView({"user:registered": everyone, "region:530102": everyone,
                        "optout:licence": muted}, seq=42)
    rule = create_rule(audience="region:53")
    run = start_run(rule, trigger="cron", source=source)
    db.session.commit()
    assert run.targeted == 1_000_000
    assert run.skipped["muted"] == 100_000 and run.delivered == 900_000
    assert BitMap.deserialize(run.recipients) == everyone - muted
    assert run.index_seq == 42


def test_stopping_a_rule_withdraws_its_runs(app_context):
    people(2)
    rule = create_rule()
    other = create_rule(name="另一条规则")
    for target in (rule, rule, other):
        start_run(target, trigger="cron")
    db.session.commit()
    events.emit("push.rule_stopped", rule_id=rule.id)
    db.session.commit()  # handed to the subscriber at once (eager tasks)
    db.session.expire_all()
    statuses = sorted(db.session.execute(sa.select(PushRun.rule_id, PushRun.status)).all())
    assert statuses == [(rule.id, "stopped"), (rule.id, "stopped"), (other.id, "done")]
    stopped = db.session.scalars(sa.select(PushRun).where(PushRun.rule_id == rule.id)).all()
    assert all(run.stopped_at is not None for run in stopped)
    assert stop_rule_runs(rule.id) == 0  # again: nothing left to stop
