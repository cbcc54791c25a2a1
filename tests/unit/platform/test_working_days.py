"""Working days: weekends, the State Council's holidays and make-up days, and local changes."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.config import ConfigError
from app.platform.working_days import build_calendar, parse_days, working_calendar

CALENDAR = build_calendar()


@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 2, 13), True),    # Friday before the Spring Festival
    (date(2026, 2, 14), True),    # Saturday, a make-up day (调休)
    (date(2026, 2, 16), False),   # Monday in the Spring Festival
    (date(2026, 2, 23), False),   # its last day, a Monday
    (date(2026, 2, 28), True),    # Saturday, the second make-up day
    (date(2026, 10, 7), False),   # Wednesday, last day of the National Day week
    (date(2026, 10, 8), True),    # Thursday after it
    (date(2026, 10, 10), True),   # Saturday, make-up day
    (date(2026, 11, 28), False),  # an ordinary Saturday
    (date(2026, 11, 30), True),   # an ordinary Monday
])
def test_days_of_2026_follow_the_state_councils_notice(day, working):
    assert CALENDAR.is_working_day(day) is working


def test_counting_skips_the_spring_festival_and_counts_the_make_up_saturday():
    assert CALENDAR.add_working_days(date(2026, 2, 12), 3) == date(2026, 2, 24)


def test_a_limit_counted_over_a_weekend_lands_on_the_next_week():
    assert CALENDAR.add_working_days(date(2026, 11, 27), 1) == date(2026, 11, 30)


def test_next_years_statutory_days_are_known_before_its_notice():
    assert CALENDAR.knows(2027)
    assert not CALENDAR.is_working_day(date(2027, 2, 8))   # 初三, a Monday
    assert not CALENDAR.is_working_day(date(2027, 10, 1))
    assert CALENDAR.is_working_day(date(2027, 10, 4))      # no notice yet: an ordinary Monday


def test_years_beyond_the_calendar_count_weekends_only():
    assert not CALENDAR.knows(2031)
    assert CALENDAR.is_working_day(date(2031, 1, 1))
    assert not CALENDAR.is_working_day(date(2031, 1, 4))


def test_a_deployment_adds_days_off_and_make_up_days():
    calendar = build_calendar([date(2026, 12, 1)], [date(2026, 12, 5)])
    assert not calendar.is_working_day(date(2026, 12, 1))
    assert calendar.is_working_day(date(2026, 12, 5))


@given(st.dates(date(2025, 1, 1), date(2027, 12, 31)), st.integers(0, 60))
def test_counting_forward_then_between_gives_the_count_back(start, count):
    end = CALENDAR.add_working_days(start, count)
    assert CALENDAR.working_days_between(start, end) == count
    assert count == 0 or CALENDAR.is_working_day(end)
    assert CALENDAR.working_days_between(end, start) == -count


@given(st.dates(date(2025, 1, 1), date(2027, 12, 31)))
def test_no_week_has_more_than_seven_or_fewer_than_zero_working_days(start):
    assert 0 <= CALENDAR.working_days_between(start, start + timedelta(days=7)) <= 7


def test_a_negative_or_absurd_count_is_refused():
    with pytest.raises(ValueError):
        CALENDAR.add_working_days(date(2026, 1, 5), -1)
    with pytest.raises(ValueError):
        CALENDAR.add_working_days(date(2026, 1, 5), 100_000)


def test_days_in_settings_must_be_iso_dates():
    assert parse_days("X", " 2026-12-01, 2026-12-02 ,") == {date(2026, 12, 1), date(2026, 12, 2)}
    with pytest.raises(ConfigError, match="X"):
        parse_days("X", "2026-13-01")


def test_the_app_builds_its_calendar_from_its_settings(make_app):
    app = make_app(WORKING_CALENDAR_DAYS_OFF="2026-12-01",
                   WORKING_CALENDAR_MAKEUP_DAYS="2026-12-05")
    with app.app_context():
        calendar = working_calendar()
    assert not calendar.is_working_day(date(2026, 12, 1))
    assert calendar.is_working_day(date(2026, 12, 5))


def test_an_app_with_a_bad_day_in_its_settings_does_not_start(make_app):
    with pytest.raises(ConfigError, match="WORKING_CALENDAR_DAYS_OFF"):
        make_app(WORKING_CALENDAR_DAYS_OFF="2026-02-30")
