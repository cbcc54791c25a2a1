"""Who an audience expression reaches now: its size, a masked sample, and why each sampled
person matched (the preview admins see while they type, and what a push run snapshots)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from pyroaring import BitMap

from app.extensions import db
from app.models import User
from app.models.tag import TagDefinition, TagMembership
from app.platform.orm import utcnow
from app.privacy.masking import mask_name
from app.privacy.vault import vault
from app.push.evaluation import evaluate, matched_tags, sample
from app.push.expressions import Expr, normalize
from app.push.index import audience_index

SAMPLE_SIZE = 20


@dataclass(frozen=True)
class Audience:
    expression: str  # canonical
    members: BitMap
    seq: int  # the change-log position the index stood at
    evaluated_in_ms: float


def resolve(text: str) -> tuple[Expr, Audience]:
    """Parse (422 naming `audience` with the offset) and evaluate on the index."""
    expr, canonical = normalize(text)
    started = time.perf_counter()
    with audience_index().reading() as view:
        members = evaluate(expr, view)
        seq = view.seq
    elapsed = (time.perf_counter() - started) * 1000
    return expr, Audience(canonical, members, seq, round(elapsed, 2))


def preview(text: str, sample_size: int = SAMPLE_SIZE) -> dict[str, Any]:
    """The size, an evenly spread sample with masked names, and each one's matching tags.
    Sensitive tags (health, assistance) are left out of what made someone match."""
    expr, audience = resolve(text)
    ids = sample(audience.members, sample_size)
    return {"audience": audience.expression, "audience_size": len(audience.members),
            "sample": _sampled(expr, ids), "evaluated_in_ms": audience.evaluated_in_ms}


def _sampled(expr: Expr, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))}
    now = utcnow()
    carried: dict[int, list[str]] = {}
    for user_id, tag in db.session.execute(
            sa.select(TagMembership.user_id, TagMembership.tag).where(
                TagMembership.user_id.in_(ids), TagMembership.disputed_at.is_(None),
                sa.or_(TagMembership.expires_at.is_(None), TagMembership.expires_at > now))):
        carried.setdefault(user_id, []).append(tag)
    sensitive = hidden_tags({tag for tags in carried.values() for tag in tags})
    cipher = vault()
    sampled = []
    for user_id in ids:
        user = users.get(user_id)
        name = (cipher.decrypt(user.real_name_enc, "user.real_name")
                if user is not None and user.real_name_enc else None)
        sampled.append({
            "user_id": str(user_id), "name_masked": mask_name(name) if name else None,
            "matched_tags": [t for t in matched_tags(expr, carried.get(user_id, []))
                             if t not in sensitive]})
    return sampled


def hidden_tags(tags: set[str]) -> set[str]:
    """Which of `tags` are sensitive: never shown outside the person's own list."""
    if not tags:
        return set()
    sensitive = set(db.session.scalars(sa.select(TagDefinition.name).where(
        TagDefinition.sensitive.is_(True))))
    return {t for t in tags if t in sensitive or t.split(":", 1)[0] in sensitive}
