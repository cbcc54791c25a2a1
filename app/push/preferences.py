"""A person's push preferences: muted categories (kept as `optout:<category>` tags, so audiences
leave them out at once), quiet hours in China time, WeChat messages on or off."""

from __future__ import annotations

import re
from typing import Any

from app.extensions import db
from app.models import User
from app.models.tag import PushPreference
from app.platform.errors import InvalidInput
from app.push import computed

CATEGORY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
MAX_MUTED = 32


def preferences_of(user: User) -> dict[str, Any]:
    found = db.session.get(PushPreference, user.id)
    if found is None:
        return {"muted_categories": [], "quiet_hours": None, "wechat_enabled": True}
    quiet = ({"start": found.quiet_start, "end": found.quiet_end}
             if found.quiet_start and found.quiet_end else None)
    return {"muted_categories": list(found.muted_categories), "quiet_hours": quiet,
            "wechat_enabled": found.wechat_enabled}


def set_preferences(user: User, *, muted_categories: list[str],
                    quiet_hours: dict[str, str] | None, wechat_enabled: bool) -> dict[str, Any]:
    """Replace the preferences; muting takes the person out of matching audiences in the same
    transaction (their opt-out tags are recomputed here, not later)."""
    muted = sorted(set(muted_categories))
    if len(muted) > MAX_MUTED:
        raise InvalidInput("muted_categories", f"最多屏蔽 {MAX_MUTED} 个类别",
                           [f"at most {MAX_MUTED}"])
    for category in muted:
        if not CATEGORY.fullmatch(category):
            raise InvalidInput("muted_categories", f"推送类别「{category}」格式不正确",
                               [f"invalid category {category!r}"])
    if quiet_hours is not None:
        start, end = quiet_hours.get("start", ""), quiet_hours.get("end", "")
        if not CLOCK.fullmatch(start) or not CLOCK.fullmatch(end) or start == end:
            raise InvalidInput("quiet_hours", "免打扰时段应为两个不同的 HH:MM 时刻",
                               ["start and end: distinct HH:MM"])
    found = db.session.get(PushPreference, user.id)
    if found is None:
        found = PushPreference(user_id=user.id)
        db.session.add(found)
    found.muted_categories = muted
    found.quiet_start = quiet_hours["start"] if quiet_hours else None
    found.quiet_end = quiet_hours["end"] if quiet_hours else None
    found.wechat_enabled = wechat_enabled
    db.session.flush()
    computed.refresh_user(user.id)
    return preferences_of(user)
