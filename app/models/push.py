"""Proactive push (主动推送): rules admins write and approve, the runs that deliver them, and
what a person did with a message.

A run's audience snapshot (a serialized roaring bitmap of user ids) is itself the delivery to
the inbox: nothing is written per recipient until that person reads, clicks or dismisses.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.platform.orm import BigIntId, UTCDateTime, table_args, utcnow

RULE_STATUSES = ("draft", "submitted", "approved", "active", "paused", "finished", "rejected",
                 "stopped")
SCHEDULE_TYPES = ("once", "cron", "event")
CHANNELS = ("inbox", "wechat")
PRIORITIES = ("normal", "urgent")
RUN_STATUSES = ("delivering", "done", "stopped")
SKIP_REASONS = ("capped", "quiet_hours", "muted", "opted_out", "no_consent", "duplicate")
# A bitmap of tens of millions of ids is megabytes: LONGBLOB on MySQL.
Blob = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")


class PushRule(db.Model):
    """Who is told what, when and through which channel; edited only while a draft."""

    __tablename__ = "push_rules"
    __table_args__ = table_args(sa.Index("ix_push_rules_status", "status", "schedule_type"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    category: Mapped[str] = mapped_column(sa.String(32))  # the unit a person can mute
    audience: Mapped[str] = mapped_column(sa.Text)  # canonical expression
    reason: Mapped[str] = mapped_column(sa.String(100), default="")  # public part of `why`
    title: Mapped[str] = mapped_column(sa.String(20))
    body: Mapped[str] = mapped_column(sa.String(200))
    target_kind: Mapped[str] = mapped_column(sa.String(16), default="service")
    target_code: Mapped[str] = mapped_column(sa.String(32), default="")
    channels: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    wechat_template_id: Mapped[str | None] = mapped_column(sa.String(64))
    wechat_data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    schedule_type: Mapped[str] = mapped_column(sa.String(8))  # one of SCHEDULE_TYPES
    schedule_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cron: Mapped[str | None] = mapped_column(sa.String(64))
    event: Mapped[str | None] = mapped_column(sa.String(48))
    event_params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    cap_per_day: Mapped[int | None]  # this rule's messages per person per day
    cap_per_week: Mapped[int | None]
    priority: Mapped[str] = mapped_column(sa.String(8), default="normal")
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(sa.String(16), default="draft")
    created_by: Mapped[int | None] = mapped_column(BigIntId)
    submitted_by: Mapped[int | None] = mapped_column(BigIntId)
    approved_by: Mapped[int | None] = mapped_column(BigIntId)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    review_note: Mapped[str] = mapped_column(sa.String(200), default="")
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PushRun(db.Model):
    """One delivery of a rule: its audience at that moment, minus who may not be told, and
    the counts. An event rule's run is one person's (`event_key` keeps it to once per event)."""

    __tablename__ = "push_runs"
    __table_args__ = table_args(
        sa.UniqueConstraint("rule_id", "event_key"),
        sa.Index("ix_push_runs_started", "status", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    rule_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("push_rules.id"), index=True)
    trigger: Mapped[str] = mapped_column(sa.String(8))  # once | cron | event
    event_key: Mapped[str | None] = mapped_column(sa.String(96))
    status: Mapped[str] = mapped_column(sa.String(12), default="delivering")
    title: Mapped[str] = mapped_column(sa.String(20))
    body: Mapped[str] = mapped_column(sa.String(200))
    category: Mapped[str] = mapped_column(sa.String(32))
    recipients: Mapped[bytes] = mapped_column(Blob)  # the snapshot: who gets it
    index_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    targeted: Mapped[int] = mapped_column(default=0)
    delivered: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PushMessageState(db.Model):
    """What one person did with one run's message: written only when they act."""

    __tablename__ = "push_message_states"
    __table_args__ = table_args(sa.UniqueConstraint("user_id", "run_id"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("push_runs.id",
                                                                ondelete="CASCADE"))
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
