"""Enterprises from the registry, and the users bound to them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.platform.orm import BigIntId, UTCDateTime, table_args, utcnow

AGENT_SCOPES = ("cases", "certificates")
RELATIONS = ("legal_representative", "agent")


class Enterprise(db.Model):
    """A registered enterprise (法人), as the market regulator's registry records it."""

    __tablename__ = "enterprises"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    uscc: Mapped[str] = mapped_column(sa.String(18), unique=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    # Blind index of the legal representative's ID number: matched, never read back.
    legal_rep_id_index: Mapped[str] = mapped_column(sa.String(64), index=True)
    region_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    industry: Mapped[str] = mapped_column(sa.String(64), default="")
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EnterpriseBinding(db.Model):
    """A user acting for an enterprise: its legal representative, or an agent they delegated."""

    __tablename__ = "enterprise_bindings"
    __table_args__ = table_args(sa.UniqueConstraint("user_id", "enterprise_id"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("enterprises.id", ondelete="CASCADE"), index=True)
    relation: Mapped[str] = mapped_column(sa.String(24))
    status: Mapped[str] = mapped_column(sa.String(16))  # verified | pending
    # Agents only: comma-separated scopes from AGENT_SCOPES, and when the delegation ends.
    scopes: Mapped[str] = mapped_column(sa.String(64), default="")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    granted_by_user_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    enterprise: Mapped[Enterprise] = relationship(lazy="joined")

    @property
    def scope_list(self) -> list[str]:
        return [s for s in self.scopes.split(",") if s]
