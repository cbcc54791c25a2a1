"""A person's quiet hours (免打扰): a window of China time, possibly past midnight, in which
nothing that is not urgent reaches their phone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta

from app.platform.clock import CHINA_TZ


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_until(quiet_hours: Mapping[str, str] | None, now: datetime) -> datetime | None:
    """When the quiet hours holding `now` end (UTC), or None when `now` is outside them.

    The window is [start, end) in China time; an end before the start runs past midnight
    (22:00–07:00 holds 23:30 and 06:59, not 07:00)."""
    if not quiet_hours:
        return None
    start, end = _clock(quiet_hours["start"]), _clock(quiet_hours["end"])
    local = now.astimezone(CHINA_TZ)
    moment = local.time()
    # An end before the start: the window holds the evening and the early morning.
    inside = start <= moment < end if start < end else moment >= start or moment < end
    if not inside:
        return None
    # Inside and before the end: it ends today; inside but past it (the evening): tomorrow.
    day = local.date() if moment < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, CHINA_TZ).astimezone(UTC)
