"""Chinese working days (工作日): weekends off, statutory holidays off, make-up days (调休) on.

Time limits of service items count working days. The official calendar comes from the
`chinesecalendar` package, which follows the State Council's yearly notice; a year it does not
cover yet falls back to the provisional statutory days shipped beside this module, and a
deployment can add its own days off and make-up days from configuration.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources

import chinese_calendar
from flask import Flask

from app.config import ConfigError
from app.platform.app_services import AppService

log = logging.getLogger(__name__)
SATURDAY = 5
# A limit beyond this many working days is a data error, not a time limit (legal limits are
# counted in tens of working days); the bound keeps a bad value from looping for long.
MAX_WORKING_DAYS = 3660


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days are working days, for every year the calendar knows, and weekends beyond."""

    days_off: frozenset[date]
    makeup_days: frozenset[date]
    years: frozenset[int]

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_days:
            return True
        return day.weekday() < SATURDAY and day not in self.days_off

    def add_working_days(self, start: date, count: int) -> date:
        """The day `count` working days after `start` (`start` itself not counted)."""
        if not 0 <= count <= MAX_WORKING_DAYS:
            raise ValueError(f"working days out of range: {count}")
        day = start
        while count:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`; negative when `end` is earlier."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(1 for offset in range(1, (end - start).days + 1)
                   if self.is_working_day(start + timedelta(days=offset)))

    def knows(self, year: int) -> bool:
        """Whether the year's holidays are known (else only its weekends are counted)."""
        return year in self.years


def _official() -> tuple[set[date], set[date]]:
    """Days off and make-up days of every year the chinesecalendar package covers."""
    days_off = {day for day in chinese_calendar.holidays if day.weekday() < SATURDAY}
    return days_off, set(chinese_calendar.workdays)


def _provisional(known_years: set[int]) -> tuple[set[date], set[date], set[int]]:
    """Statutory days of years not yet in the official calendar (shipped with the package)."""
    text = resources.files("app.platform").joinpath("provisional_holidays.json").read_text()
    days_off: set[date] = set()
    makeup: set[date] = set()
    years: set[int] = set()
    for year, entry in json.loads(text)["years"].items():
        if int(year) in known_years:
            continue  # the official notice has replaced the provisional list
        years.add(int(year))
        days_off.update(date.fromisoformat(day) for day in entry["days_off"])
        makeup.update(date.fromisoformat(day) for day in entry.get("makeup_days", []))
    return days_off, makeup, years


def parse_days(setting: str, text: str) -> set[date]:
    """Comma-separated ISO dates from a setting; a bad one is a configuration error."""
    try:
        return {date.fromisoformat(part.strip()) for part in text.split(",") if part.strip()}
    except ValueError as exc:
        raise ConfigError(f"{setting}: {exc}") from None


def build_calendar(extra_days_off: Iterable[date] = (),
                   extra_makeup_days: Iterable[date] = ()) -> WorkingCalendar:
    """The official calendar, the provisional years, then the deployment's own days."""
    days_off, makeup = _official()
    official_years = {day.year for day in days_off | makeup}
    provisional_off, provisional_makeup, provisional_years = _provisional(official_years)
    extra_makeup = set(extra_makeup_days)
    days_off = (days_off | provisional_off | set(extra_days_off)) - extra_makeup
    makeup = (makeup | provisional_makeup | extra_makeup) - set(extra_days_off)
    return WorkingCalendar(frozenset(days_off), frozenset(makeup),
                           frozenset(official_years | provisional_years))


def _calendar_of(app: Flask) -> WorkingCalendar:
    calendar = build_calendar(
        parse_days("WORKING_CALENDAR_DAYS_OFF", app.config["WORKING_CALENDAR_DAYS_OFF"]),
        parse_days("WORKING_CALENDAR_MAKEUP_DAYS", app.config["WORKING_CALENDAR_MAKEUP_DAYS"]))
    this_year = date.today().year
    for year in (this_year, this_year + 1):
        if not calendar.knows(year):
            log.warning("working calendar: no holidays known for %s; only weekends count", year)
    return calendar


working_calendar: AppService[WorkingCalendar] = AppService("working_calendar", _calendar_of)
