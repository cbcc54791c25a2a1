"""Time as users live it: China Standard Time (UTC+8, no daylight saving) and ages."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

CHINA_TZ = timezone(timedelta(hours=8), "CST")


def today_in_china() -> date:
    return datetime.now(CHINA_TZ).date()


def age_on(birth: date, today: date) -> int:
    """Whole years lived on `today`."""
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
