"""Who carries which tag: writes to memberships, each with its line in the change log.

Every write that changes whether a membership counts (added, removed, disputed, restored,
expired) appends a `TagChange` in the same transaction. The audience index follows that log
in `seq` order; a change says what the state is, not what to toggle, so applying one twice or
replaying a window of them leaves the index right.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa

from app.extensions import db
from app.models.tag import TagChange, TagMembership
from app.platform.orm import utcnow

CHUNK = 1000


def log_change(tag: str, user_id: int, present: bool) -> None:
    db.session.add(TagChange(tag=tag, user_id=user_id, present=present))


def grant(user_id: int, tag: str, *, source: str, expires_at: datetime | None = None,
          added_by: int | None = None) -> bool:
    """Give a person a tag (or refresh its expiry and source); True when it starts to count."""
    membership = db.session.scalar(sa.select(TagMembership).where(
        TagMembership.user_id == user_id, TagMembership.tag == tag).with_for_update())
    if membership is None:
        membership = TagMembership(user_id=user_id, tag=tag, source=source,
                                   expires_at=expires_at, added_by=added_by)
        db.session.add(membership)
        if membership.counts:  # (one already expired is kept, but is in no audience)
            log_change(tag, user_id, True)
        return membership.counts
    counted = membership.counts
    membership.expires_at = expires_at
    if membership.source != "computed" or source == "computed":
        membership.source = source
    membership.added_by = added_by if added_by is not None else membership.added_by
    if membership.counts and not counted:
        log_change(tag, user_id, True)
        return True
    if counted and not membership.counts:
        log_change(tag, user_id, False)
    return False


def revoke(user_id: int, tag: str) -> bool:
    """Take a tag from a person; True when they had it."""
    membership = db.session.scalar(sa.select(TagMembership).where(
        TagMembership.user_id == user_id, TagMembership.tag == tag).with_for_update())
    if membership is None:
        return False
    db.session.delete(membership)
    log_change(tag, user_id, False)
    return True


def grant_many(user_ids: Iterable[int], tag: str, *, source: str,
               expires_at: datetime | None = None, added_by: int | None = None) -> int:
    """Give many people one tag (an admin's list or upload); the number newly given it.

    Chunked: one look-up of who has it already per thousand people, then inserts."""
    added = 0
    ordered = list(dict.fromkeys(user_ids))
    for start in range(0, len(ordered), CHUNK):
        chunk = ordered[start:start + CHUNK]
        held = {m.user_id: m for m in db.session.scalars(sa.select(TagMembership).where(
            TagMembership.tag == tag, TagMembership.user_id.in_(chunk)))}
        for user_id in chunk:
            if user_id in held:
                added += grant(user_id, tag, source=source, expires_at=expires_at,
                               added_by=added_by)
                continue
            membership = TagMembership(user_id=user_id, tag=tag, source=source,
                                       expires_at=expires_at, added_by=added_by)
            db.session.add(membership)
            if membership.counts:
                log_change(tag, user_id, True)
                added += 1
        db.session.flush()
    return added


def revoke_all(tag: str) -> int:
    """Take a tag from everyone who carries it (a retired tag); the number it was taken from."""
    removed = 0
    while True:
        ids = list(db.session.scalars(sa.select(TagMembership.user_id).where(
            TagMembership.tag == tag).limit(CHUNK)))
        if not ids:
            return removed
        db.session.execute(sa.delete(TagMembership).where(
            TagMembership.tag == tag, TagMembership.user_id.in_(ids)))
        db.session.add_all(TagChange(tag=tag, user_id=i, present=False) for i in ids)
        db.session.flush()
        removed += len(ids)


def set_disputed(membership: TagMembership, disputed: bool) -> None:
    """Hold a membership out of the index while a dispute is open, or put it back."""
    counted = membership.counts
    membership.disputed_at = utcnow() if disputed else None
    if counted != membership.counts:
        log_change(membership.tag, membership.user_id, membership.counts)


def expire_due(now: datetime | None = None, limit: int = 10_000) -> int:
    """Drop memberships whose expiry has passed (read by the expiry index: the work is what
    expired, not the number of memberships); the number dropped."""
    now = now or utcnow()
    due = list(db.session.execute(sa.select(TagMembership.id, TagMembership.user_id,
                                            TagMembership.tag, TagMembership.disputed_at)
                                  .where(TagMembership.expires_at <= now)
                                  .order_by(TagMembership.expires_at).limit(limit)))
    if not due:
        return 0
    db.session.execute(sa.delete(TagMembership).where(TagMembership.id.in_([r.id for r in due])))
    # A disputed one left the index when it was disputed.
    db.session.add_all(TagChange(tag=r.tag, user_id=r.user_id, present=False)
                       for r in due if r.disputed_at is None)
    return len(due)

