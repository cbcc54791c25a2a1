"""Events that outside systems send, kept by their id so that a repeat is answered, not redone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.platform.orm import UTCDateTime, utcnow


class IntegrationEvent(db.Model):
    """An event a department system sent, by its id: a repeat gets the first answer back."""

    __tablename__ = "integration_events"

    department_key_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
