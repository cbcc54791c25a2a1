"""The service catalog: themes that group service items."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.orm import BigIntId, UTCDateTime, utcnow

AUDIENCES = ("personal", "enterprise", "both")


class Theme(db.Model):
    """A grouping of service items by life event, such as 生育收养 or 企业开办."""

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    audience: Mapped[str] = mapped_column(sa.String(16), default="personal")
    description: Mapped[str] = mapped_column(sa.String(255), default="")
    icon: Mapped[str] = mapped_column(sa.String(64), default="")
    sort_order: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
