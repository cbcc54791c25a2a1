"""Domain events, written in the transaction that caused them and handed to subscribers after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.platform.orm import BigIntId, UTCDateTime, table_args, utcnow


class DomainEvent(db.Model):
    """Something that happened (a case moved, fell overdue, finished), kept until every
    subscriber has had it: an outbox, so a crash between commit and dispatch loses nothing."""

    __tablename__ = "domain_events"
    __table_args__ = table_args(sa.Index("ix_domain_events_pending", "dispatched_at", "id"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(48))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
