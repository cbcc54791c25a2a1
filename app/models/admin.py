"""Admin and verifier accounts, which log in with a username and password."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.platform.orm import BigIntId, UTCDateTime, table_args, utcnow

ADMIN_ROLES = ("catalog_admin", "push_admin", "push_approver", "auditor", "super_admin")
VERIFIER_ROLE = "verifier"
ACCOUNT_ROLES = (*ADMIN_ROLES, VERIFIER_ROLE)


class AdminAccount(db.Model):
    __tablename__ = "admin_accounts"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    display_name: Mapped[str] = mapped_column(sa.String(64), default="")
    # Set for verifier accounts: the hotel, police station or counter that checks certificates.
    institution_name: Mapped[str | None] = mapped_column(sa.String(128))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Lockout after repeated wrong passwords, kept here so it survives Redis losing its data.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    first_failed_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    role_rows: Mapped[list[AdminRole]] = relationship(
        back_populates="account", cascade="all, delete-orphan", lazy="joined")

    @property
    def roles(self) -> list[str]:
        return sorted(row.role for row in self.role_rows)

    def set_roles(self, roles: list[str]) -> None:
        """Replace the account's roles, keeping rows that stay."""
        wanted = set(roles)
        self.role_rows = [row for row in self.role_rows if row.role in wanted]
        for role in sorted(wanted - {row.role for row in self.role_rows}):
            self.role_rows.append(AdminRole(role=role))


class AdminRole(db.Model):
    __tablename__ = "admin_roles"
    __table_args__ = table_args(sa.UniqueConstraint("admin_id", "role"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    admin_id: Mapped[int] = mapped_column(sa.ForeignKey("admin_accounts.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(sa.String(32))

    account: Mapped[AdminAccount] = relationship(back_populates="role_rows")
