"""Push rules and runs made directly, as an approved rule's finished run leaves them: what the
inbox reads. Each builder commits what it makes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pyroaring import BitMap

from app.extensions import db
from app.models.push import PushRule, PushRun
from app.platform.orm import utcnow
from app.push.expressions import normalize
from app.push.inbox import forget_live_runs


def create_rule(*, name: str = "驾驶证到期提醒",
                audience: str = "region:5301 AND cert:driving_licence:expiring_30d",
                category: str = "licence", reason: str = "", title: str = "驾驶证即将到期",
                body: str = "您的驾驶证将于30日内到期，可在线办理换证。",
                target_kind: str = "service", target_code: str = "",
                status: str = "active") -> PushRule:
    rule = PushRule(name=name, audience=normalize(audience)[1], category=category, reason=reason,
                    title=title, body=body, target_kind=target_kind, target_code=target_code,
                    channels=["inbox"], schedule_type="once", status=status)
    db.session.add(rule)
    db.session.commit()
    return rule


def create_run(*, rule: PushRule, recipients: Iterable[int], status: str = "done",
               started_at: datetime | None = None, commit: bool = True) -> PushRun:
    """A run of `rule` reaching `recipients` (user ids); the inbox of this process sees it at
    once (as it would within seconds)."""
    members = BitMap(recipients)
    run = PushRun(rule_id=rule.id, trigger="once", status=status, title=rule.title,
                  body=rule.body, category=rule.category, recipients=members.serialize(),
                  targeted=len(members), delivered=len(members),
                  started_at=started_at or utcnow(),
                  finished_at=utcnow() if status == "done" else None)
    db.session.add(run)
    if commit:
        db.session.commit()
        forget_live_runs()
    return run
