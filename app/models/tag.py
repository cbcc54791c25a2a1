"""Profile tags (用户画像): definitions, who carries each one, the change log the audience index
follows, disputes, and the push preferences that become opt-out tags."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.platform.orm import BigIntId, UTCDateTime, table_args, utcnow

TAG_KINDS = ("manual", "computed")
# Where a membership came from: an admin's list or CSV, or a rule over the person's own data.
MEMBERSHIP_SOURCES = ("manual", "upload", "computed")
DISPUTE_STATUSES = ("open", "upheld", "removed")


class TagDefinition(db.Model):
    """A tag admins target: `region:5301`, `life:newborn`. Computed ones are defined by the code
    that computes them (a prefix such as `cert:` covers every tag under it) and are read-only."""

    __tablename__ = "tag_definitions"
    __table_args__ = table_args()

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # one of TAG_KINDS
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    # Health, social assistance: shown to the person in /me/tags, never in a message's `why`.
    sensitive: Mapped[bool] = mapped_column(default=False)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class TagMembership(db.Model):
    """One person carries one tag: the source of truth the audience index is built from."""

    __tablename__ = "tag_memberships"
    __table_args__ = table_args(
        sa.UniqueConstraint("user_id", "tag"),
        sa.Index("ix_tag_memberships_tag_user", "tag", "user_id"),
        sa.Index("ix_tag_memberships_expires_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(sa.String(64))
    source: Mapped[str] = mapped_column(sa.String(16))  # one of MEMBERSHIP_SOURCES
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    added_by: Mapped[int | None] = mapped_column(BigIntId)  # the admin, for a manual one
    # Disputed by the person and not yet resolved: kept, but not used for targeting them.
    disputed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def counts(self) -> bool:
        """Whether the index holds this membership: not disputed, not expired."""
        return self.disputed_at is None and (self.expires_at is None
                                             or self.expires_at > utcnow())


class TagChange(db.Model):
    """The change log: a person entered (`present`) or left a tag's audience. Every process's
    index applies these in `seq` order; set semantics make a repeat harmless."""

    __tablename__ = "tag_changes"
    __table_args__ = table_args(sa.Index("ix_tag_changes_at", "at"))

    seq: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    tag: Mapped[str] = mapped_column(sa.String(64))
    user_id: Mapped[int] = mapped_column(BigIntId)
    present: Mapped[bool]
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TagDispute(db.Model):
    """A person says a manual tag is wrong about them; admins uphold or remove it."""

    __tablename__ = "tag_disputes"
    __table_args__ = table_args(sa.Index("ix_tag_disputes_status", "status", "created_at"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(sa.String(64))
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    status: Mapped[str] = mapped_column(sa.String(16), default="open")  # DISPUTE_STATUSES
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[int | None] = mapped_column(BigIntId)
    resolution_note: Mapped[str] = mapped_column(sa.String(500), default="")


class PushPreference(db.Model):
    """What a person lets the system push: muted categories (kept as `optout:<category>` tags,
    so the audience leaves them out by set algebra), quiet hours, WeChat messages on or off."""

    __tablename__ = "push_preferences"
    __table_args__ = table_args()

    user_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    muted_categories: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    quiet_start: Mapped[str | None] = mapped_column(sa.String(5))  # "22:00", China time
    quiet_end: Mapped[str | None] = mapped_column(sa.String(5))
    wechat_enabled: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
