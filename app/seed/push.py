"""Demo push rules: two approved, active rules that have already run, so the demo people find
messages in their inboxes — a driving-licence renewal reminder and the retirement bundle.

Written by the demo `admin` and approved by `approver`, as the lifecycle would have it. The
seed's tags are not committed when this runs, so the first runs read the audience from the
session's memberships instead of the audience index. Seeded once: a rule that exists by name
is left as it is, with its runs.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from pyroaring import BitMap

from app.extensions import db
from app.identity.admin_accounts import find_admin
from app.models.push import PushRule
from app.models.tag import TagMembership
from app.platform.orm import utcnow
from app.push.expressions import normalize
from app.push.index import IndexView
from app.push.runs import start_run
from app.push.scheduling import next_run_after

DEMO_RULES: list[dict[str, Any]] = [
    {
        "name": "驾驶证期满换证提醒",
        "category": "licence",
        "audience": "cert:driving_licence:expiring_30d",
        "reason": "您的机动车驾驶证将在30日内到期",
        "title": "驾驶证即将到期",
        "body": "您的机动车驾驶证即将到期。期满前90日内可在线申请期满换证，体检信息联网核验，"
                "新证邮寄到家，无需往返车管所。",
        "target_kind": "service",
        "target_code": "XK00104001",  # 机动车驾驶证期满换证
        "cron": "0 9 * * 1",  # Mondays at 09:00
        "cap_per_week": 1,
    },
    {
        "name": "退休一件事服务包",
        "category": "pension",
        "audience": "age:35-59 AND region:53",
        "reason": "您在云南登记，年龄段临近退休，可提前了解退休相关事项",
        "title": "退休一件事，一次办好",
        "body": "养老金申领、医保退休人员待遇核定、住房公积金提取等退休相关事项，"
                "一张表单、一次提交，多个部门并联办理。",
        "target_kind": "bundle",
        "target_code": "B003",  # 退休一件事
        "cron": "0 10 1 * *",  # the 1st of each month at 10:00
        "cap_per_week": None,
    },
]


def seed_push_rules() -> int:
    """The demo rules and their first runs; rows changed."""
    wanted = [spec for spec in DEMO_RULES if db.session.scalar(
        sa.select(PushRule.id).where(PushRule.name == spec["name"])) is None]
    if not wanted:
        return 0
    author, approver = find_admin("admin"), find_admin("approver")
    source = _seeded_tags()
    changed = 0
    for spec in wanted:
        now = utcnow()
        _, audience = normalize(spec["audience"])
        rule = PushRule(
            **{k: spec[k] for k in ("name", "category", "reason", "title", "body",
                                    "target_kind", "target_code", "cron", "cap_per_week")},
            audience=audience, channels=["inbox"], schedule_type="cron", event_params={},
            wechat_data={}, priority="normal", status="active",
            created_by=author.id if author else None,
            submitted_by=author.id if author else None,
            approved_by=approver.id if approver else None, approved_at=now,
            review_note="演示规则", next_run_at=next_run_after(spec["cron"], now))
        db.session.add(rule)
        db.session.flush()
        start_run(rule, trigger="cron", source=source, now=now)
        changed += 2
    return changed


def _seeded_tags() -> IndexView:
    """The counting memberships as the session sees them, uncommitted ones included."""
    now = utcnow()
    tags: dict[str, BitMap] = {}
    for tag, user_id in db.session.execute(sa.select(TagMembership.tag, TagMembership.user_id)
                                           .where(TagMembership.disputed_at.is_(None),
                                                  sa.or_(TagMembership.expires_at.is_(None),
                                                         TagMembership.expires_at > now))):
        tags.setdefault(tag, BitMap()).add(user_id)
    return IndexView(tags, 0)
