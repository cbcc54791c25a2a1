"""Frequency caps: counted over the runs' bitmaps (a rule's own per day and week, a global one
per day), so that people at a cap are skipped as `capped`; urgent rules pass the global one."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from flask import current_app
from hypothesis import given
from hypothesis import strategies as st
from pyroaring import BitMap

from app.extensions import db
from app.push import caps
from app.push.caps import RunBitmaps, at_least, day_start, week_start
from app.push.runs import start_run, stop_rule_runs
from tests.unit.push.push_factories import create_rule, ids, people, recipients

# A Wednesday, noon in China; its ISO week began on Monday the 23rd.
WEDNESDAY = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)


@given(st.lists(st.sets(st.integers(0, 40), max_size=25), max_size=8), st.integers(1, 5))
def test_bit_sliced_counting_agrees_with_counting_each_person(sets, count):
    seen = Counter(person for members in sets for person in members)
    expected = {person for person, times in seen.items() if times >= count}
    assert set(at_least((BitMap(s) for s in sets), count)) == expected


def test_bit_sliced_counting_refuses_a_count_below_one():
    with pytest.raises(ValueError):
        at_least([BitMap([1])], 0)


def test_days_and_weeks_begin_at_midnight_china_time():
    late_sunday_utc = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)  # Monday 01:00 in China
    assert day_start(late_sunday_utc).astimezone(UTC) == datetime(2026, 11, 22, 16, 0,
                                                                 tzinfo=UTC)
    assert week_start(WEDNESDAY).astimezone(UTC) == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)


def test_a_rule_capped_per_day_skips_who_had_it_today(app_context):
    first = people(2)
    rule = create_rule(cap_per_day=1)
    start_run(rule, trigger="cron", now=WEDNESDAY - timedelta(hours=1))
    later = people(1)
    run = start_run(rule, trigger="cron", now=WEDNESDAY)
    assert recipients(run) == ids(later)
    assert run.skipped["capped"] == 2
    assert run.targeted == run.delivered + sum(run.skipped.values())
    # The next China day starts afresh.
    tomorrow = start_run(rule, trigger="cron", now=WEDNESDAY + timedelta(days=1))
    assert recipients(tomorrow) == ids(first + later)


def test_a_rule_capped_per_week_counts_its_runs_since_monday(app_context):
    people(2)
    weekly = create_rule(cap_per_week=2)
    daily = create_rule(cap_per_day=2, name="每日两次")
    for rule in (weekly, daily):
        start_run(rule, trigger="cron", now=WEDNESDAY - timedelta(days=2))  # Monday
        start_run(rule, trigger="cron", now=WEDNESDAY - timedelta(days=1))
    assert start_run(weekly, trigger="cron", now=WEDNESDAY).skipped["capped"] == 2
    assert start_run(daily, trigger="cron", now=WEDNESDAY).skipped["capped"] == 0
    # Last week's runs do not count.
    assert start_run(weekly, trigger="cron",
                     now=WEDNESDAY + timedelta(days=5)).skipped["capped"] == 0


def test_the_global_cap_counts_every_rules_runs_of_the_day(app_context, monkeypatch):
    monkeypatch.setitem(current_app.config, "PUSH_DAILY_CAP", 2)
    busy = people(1)
    idle = people(1, "life:newborn")
    for name in ("甲", "乙"):
        start_run(create_rule(name=name, audience="NOT life:newborn"), trigger="cron",
                  now=WEDNESDAY)
    third = start_run(create_rule(name="丙"), trigger="cron", now=WEDNESDAY)
    assert recipients(third) == ids(idle) and third.skipped["capped"] == 1
    urgent = start_run(create_rule(name="紧急", priority="urgent"), trigger="once",
                       now=WEDNESDAY)
    assert recipients(urgent) == ids(busy + idle) and urgent.skipped["capped"] == 0


def test_event_runs_are_not_held_back_by_the_global_cap(app_context, monkeypatch):
    monkeypatch.setitem(current_app.config, "PUSH_DAILY_CAP", 1)
    [user] = people(1)
    start_run(create_rule(name="广播"), trigger="cron", now=WEDNESDAY)
    rule = create_rule(name="办件通知", schedule_type="event", event="case_moved")
    run = start_run(rule, trigger="event", event_key="case:1:approved", only_user=user.id,
                    now=WEDNESDAY)
    assert recipients(run) == {user.id}
    # Their own cap still holds.
    capped = create_rule(name="每日一次", schedule_type="event", event="case_moved",
                         cap_per_day=1)
    start_run(capped, trigger="event", event_key="case:1:approved", only_user=user.id,
              now=WEDNESDAY)
    again = start_run(capped, trigger="event", event_key="case:2:approved", only_user=user.id,
                      now=WEDNESDAY)
    assert again.delivered == 0 and again.skipped["capped"] == 1


def test_a_global_cap_of_zero_is_no_cap(app_context, monkeypatch):
    monkeypatch.setitem(current_app.config, "PUSH_DAILY_CAP", 0)
    people(1)
    for name in ("甲", "乙", "丙", "丁"):
        run = start_run(create_rule(name=name), trigger="cron", now=WEDNESDAY)
    assert run.delivered == 1


def test_stopped_runs_do_not_count_towards_a_cap(app_context):
    people(1)
    rule = create_rule(cap_per_day=1)
    start_run(rule, trigger="cron", now=WEDNESDAY - timedelta(hours=1))
    db.session.commit()
    stop_rule_runs(rule.id)
    assert start_run(rule, trigger="cron", now=WEDNESDAY).delivered == 1


def test_run_bitmaps_are_read_once_and_kept_within_bounds(app_context, monkeypatch):
    people(3)
    rule = create_rule()
    made = [start_run(rule, trigger="cron") for _ in range(4)]
    db.session.commit()
    cache = RunBitmaps(size=2)
    reads = []
    real_execute = db.session.execute
    monkeypatch.setattr(db.session, "execute",
                        lambda *a, **kw: reads.append(1) or real_execute(*a, **kw))
    first = cache.get_many([run.id for run in made[:2]])
    again = cache.get_many([run.id for run in made[:2]])
    assert first == again and len(reads) == 1  # the second answer came from memory
    cache.get_many([run.id for run in made])
    assert len(cache) == 2
    small = RunBitmaps(size=10, max_bytes=len(made[0].recipients))
    small.get_many([run.id for run in made])
    assert len(small) == 1


def test_a_cap_check_keeps_the_runs_it_read_in_the_process_cache(app_context):
    people(1)
    rule = create_rule(cap_per_day=1)
    first = start_run(rule, trigger="cron")
    assert len(caps.run_bitmaps()) == 0  # no run yet: nothing to count, nothing read
    start_run(rule, trigger="cron")
    assert caps.run_bitmaps().get_many([first.id]) == [BitMap(recipients(first))]
    assert len(caps.run_bitmaps()) == 1
