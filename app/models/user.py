"""Citizens and enterprise users, who log in through WeChat."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.platform.orm import BigIntId, UTCDateTime, utcnow


class User(db.Model):
    """A person using the mini program; real-name facts are set once verified."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    openid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    nickname: Mapped[str] = mapped_column(sa.String(64), default="")
    # Shown to the user so a legal representative can add them as an agent without their id.
    invite_code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    # Personal data: ciphertext ("kid:..." keeps the key id for rotation) and a blind index.
    real_name_enc: Mapped[str | None] = mapped_column(sa.String(255))
    id_number_enc: Mapped[str | None] = mapped_column(sa.String(255))
    id_number_index: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # Facts derived from the ID number, kept in clear for profile tags (age band, region).
    # Indexed: the daily age-band task reads only those who cross a band's edge today.
    birth_date: Mapped[date | None] = mapped_column(index=True)
    gender: Mapped[str | None] = mapped_column(sa.String(8))
    region_code: Mapped[str | None] = mapped_column(sa.String(6), index=True)
    real_name_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def real_name_verified(self) -> bool:
        return self.real_name_verified_at is not None
