"""Demo tags: every demo person's computed tags, and two manual tags an admin would keep (one of
them sensitive), so that audiences can be previewed in the demo."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import User
from app.models.tag import TagDefinition
from app.push import computed, memberships
from app.push.tags import ensure_computed_definitions
from app.seed.identity import DEMO_PEOPLE

# name, description, sensitive, the demo people (openids) who carry it
MANUAL_TAGS = [
    ("life:newborn", "家中有新生儿（卫健部门出生登记名单）", False, ["demo-citizen-1"]),
    ("assist:low_income", "低收入家庭（民政部门名单）", True, ["demo-citizen-2"]),
]


def seed_tags() -> int:
    """Definitions, manual memberships and every demo person's computed tags; rows changed."""
    ensure_computed_definitions()
    changed = 0
    people = {u.openid: u.id for u in db.session.scalars(
        sa.select(User).where(User.openid.in_([p[0] for p in DEMO_PEOPLE])))}
    for name, description, sensitive, openids in MANUAL_TAGS:
        if db.session.scalar(sa.select(TagDefinition.id).where(TagDefinition.name == name)):
            continue
        db.session.add(TagDefinition(name=name, kind="manual", description=description,
                                     sensitive=sensitive))
        changed += 1 + memberships.grant_many(
            [people[o] for o in openids if o in people], name, source="manual")
    db.session.flush()
    for user_id in people.values():
        changed += computed.refresh_user(user_id)
    return changed
