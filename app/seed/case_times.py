"""When things happen in the demo cases: filing moments, office-hour moves, and whether a case's
clock runs out on the way, counted as app/cases/lifecycle.py counts it."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from app.cases.lifecycle import Clock, china_day, first_due, resume
from app.cases.numbers import CHINA
from app.models.case import OPEN_STATUSES
from app.platform.working_days import working_calendar
from app.seed.case_stories import Step

DAYS_BACK = 90
OPENING, CLOSING = time(9), time(17, 30)


def filing_age(rng: random.Random, status: str, limit: int) -> int:
    """Days since filing: open cases are recent, finished ones anywhere in the period."""
    within = max(2, limit * 7 // 5)
    if status == "submitted":
        return rng.randint(0, 2)
    if status in OPEN_STATUSES:
        return rng.randint(0, within)
    return rng.randint(1, DAYS_BACK)


def submission_moment(rng: random.Random, day: date, channel: str, limit: int) -> datetime:
    """When a case is filed on `day`: counter cases in opening hours, online ones from early
    to late, a same-day (即办) item early enough to be done that day."""
    calendar = working_calendar()
    if channel == "window":
        while not calendar.is_working_day(day):
            day -= timedelta(days=1)
        first, last = time(9), time(16)
    elif limit <= 1 and calendar.is_working_day(day):
        first, last = time(8), time(15, 30)  # a 即办 item, filed while it can be done that day
    else:
        first, last = time(7, 30), time(22, 30)
    opening = datetime.combine(day, first, CHINA)
    span = (datetime.combine(day, last, CHINA) - opening) // timedelta(minutes=1)
    return opening + timedelta(minutes=rng.randint(0, span), seconds=rng.randint(
        0, 59))


def place_steps(rng: random.Random, submitted: datetime, steps: list[Step]
                ) -> list[datetime]:
    """A moment for each step: the applicant's within hours, the department's in office hours."""
    moments: list[datetime] = []
    previous = submitted
    for step in steps:
        if step.source == "applicant":
            previous += timedelta(minutes=rng.randint(20, 600))
        else:
            previous = office_moment(rng, previous, step.gap)
        moments.append(previous)
    return moments


def office_moment(rng: random.Random, after: datetime, gap: int) -> datetime:
    """A moment of office hours `gap` working days after `after` (0: later that day, or on the
    next working day once the office has closed)."""
    calendar = working_calendar()
    day = china_day(after)
    if gap:
        day = calendar.add_working_days(day, gap)
    while True:
        if calendar.is_working_day(day):
            earliest = max(datetime.combine(day, OPENING, CHINA), after + timedelta(minutes=10))
            span = (datetime.combine(day, CLOSING, CHINA) - earliest) // timedelta(minutes=1)
            if span > 0:
                return earliest + timedelta(minutes=rng.randint(0, min(span, 180)))
        day += timedelta(days=1)


def ran_late(submitted: datetime, limit: int, steps: list[Step], moments: list[datetime],
              now: datetime | None) -> bool:
    """Whether the case's clock runs out, while it runs, before one of its moves or (an open
    case) before `now`; the clock as lifecycle's replay runs it."""
    calendar = working_calendar()
    clock = Clock(first_due(calendar, submitted, limit), None)
    previous = "submitted"
    for step, at in zip(steps, moments, strict=True):
        if clock.paused_at is None and at > clock.due_at:
            return True
        if previous == "supplement_requested" and step.status != "supplement_requested":
            resume(calendar, clock, at)
        if step.status == "supplement_requested":
            clock.paused_at = at
        previous = step.status
    return now is not None and clock.paused_at is None and now > clock.due_at
