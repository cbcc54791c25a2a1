"""Keyword-only builders for the push run tests: active rules written straight to the table,
and people carrying given tags (committed, so the audience index sees them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pyroaring import BitMap

from app.extensions import db
from app.models import User
from app.models.push import PushRule, PushRun
from app.platform.orm import utcnow
from app.push import memberships
from app.push.expressions import normalize
from tests.factories import create_user


def create_rule(*, audience: str = "user:registered", category: str = "licence",
                schedule_type: str = "cron", cron: str | None = "0 9 * * *",
                event: str | None = None, event_params: dict[str, Any] | None = None,
                cap_per_day: int | None = None, cap_per_week: int | None = None,
                priority: str = "normal", status: str = "active",
                next_run_at: datetime | None = None, ends_at: datetime | None = None,
                approved_at: datetime | None = None, target_code: str = "XK00104001",
                name: str = "测试推送规则") -> PushRule:
    rule = PushRule(name=name, category=category, audience=normalize(audience)[1],
                    reason="测试原因", title="测试标题", body="测试正文", target_kind="service",
                    target_code=target_code, channels=["inbox"], schedule_type=schedule_type,
                    cron=cron if schedule_type == "cron" else None, event=event,
                    event_params=event_params or {}, cap_per_day=cap_per_day,
                    cap_per_week=cap_per_week, priority=priority, status=status,
                    next_run_at=next_run_at, ends_at=ends_at,
                    approved_at=approved_at or utcnow())
    db.session.add(rule)
    db.session.commit()
    return rule


def people(count: int, *tags: str) -> list[User]:
    """Registered people (no real name, so no personal numbers) carrying `tags`."""
    users = [create_user(verified=False) for _ in range(count)]
    for user in users:
        for tag in ("user:registered", *tags):
            memberships.grant(user.id, tag, source="manual")
    db.session.commit()
    return users


def ids(users: list[User]) -> set[int]:
    return {user.id for user in users}


def recipients(run: PushRun) -> set[int]:
    return set(BitMap.deserialize(run.recipients))
