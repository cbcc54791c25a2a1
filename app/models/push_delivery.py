"""WeChat subscribe-message delivery: what each person consented to, and one row per send.

A send is claimed (its row written and committed) before WeChat is called, so that whatever
crashes or retries do, a person gets a run's WeChat message at most once: the unique
(run_id, user_id) leaves room for one row, and a claim nobody finished is never sent again.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.platform.orm import BigIntId, UTCDateTime, table_args, utcnow

# claimed: WeChat is being called · sent: WeChat took it · failed: WeChat refused it, or stayed
# busy through every retry · unknown: the claim's outcome was lost (a dead worker, an answer
# that never came), so it is not sent again · busy: WeChat was busy, a retry is due at
# `not_before` · deferred: waits for the end of the person's quiet hours (`not_before`) ·
# no_consent / muted / opted_out: skipped for that reason · stopped: withdrawn by the kill
# switch while waiting.
SEND_STATUSES = ("claimed", "sent", "failed", "unknown", "busy", "deferred", "no_consent",
                 "muted", "opted_out", "stopped")
WAITING_STATUSES = ("busy", "deferred")


class SubscriptionCredit(db.Model):
    """What a person allowed through `wx.requestSubscribeMessage` for one template: sends left
    of a one-time template, or standing consent (credits 1) of a long-term one."""

    __tablename__ = "subscription_credits"
    __table_args__ = table_args(sa.UniqueConstraint("user_id", "template_id"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"))
    template_id: Mapped[str] = mapped_column(sa.String(64))
    credits: Mapped[int] = mapped_column(default=0)
    long_term: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PushSend(db.Model):
    """One person's WeChat message of one run: its claim, its outcome, or why it was skipped."""

    __tablename__ = "push_sends"
    __table_args__ = table_args(
        sa.UniqueConstraint("run_id", "user_id"),
        # The minute's tasks: waiting sends that are due, claims whose worker died.
        sa.Index("ix_push_sends_status_not_before", "status", "not_before"),
        sa.Index("ix_push_sends_status_claimed_at", "status", "claimed_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    run_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("push_runs.id",
                                                                ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"))
    template_id: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(12))  # one of SEND_STATUSES
    errcode: Mapped[int | None]  # WeChat's, when it refused or was busy
    msgid: Mapped[str | None] = mapped_column(sa.String(32))  # WeChat's id of a sent message
    attempts: Mapped[int] = mapped_column(default=0)  # calls of WeChat so far
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)  # when a waiting send is due
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
