"""Electronic certificates (电子证照): types, holdings, their access log, and signing keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.platform.orm import BigIntId, UTCDateTime, table_args, utcnow

STATUSES = ("valid", "expired", "revoked")
ACCESS_ACTIONS = ("view", "present", "verify")


class CertificateType(db.Model):
    """A kind of certificate: what it carries, which fields are sensitive, which are shown."""

    __tablename__ = "certificate_types"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(48), unique=True)
    type_code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    issuer: Mapped[str] = mapped_column(sa.String(128))
    issuer_uscc: Mapped[str] = mapped_column(sa.String(18))
    holder_kind: Mapped[str] = mapped_column(sa.String(16))  # one of USER_AUDIENCES
    validity_years: Mapped[int | None]
    number_field: Mapped[str] = mapped_column(sa.String(32), default="number")
    # [{"name", "label", "sensitive", "display"}], in display order
    fields: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)

    def field(self, name: str) -> dict[str, Any] | None:
        return next((f for f in self.fields if f["name"] == name), None)

    @property
    def display_fields(self) -> list[str]:
        return [f["name"] for f in self.fields if f.get("display")]


class Certificate(db.Model):
    """A certificate held by a person (matched by their ID's blind index) or an enterprise.

    Held by ID rather than by account, so a certificate issued before its holder first logs in
    is theirs as soon as they verify their real name.
    """

    __tablename__ = "certificates"
    __table_args__ = table_args(sa.UniqueConstraint("type_id", "number_index"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    identifier: Mapped[str] = mapped_column(sa.String(96), unique=True)
    type_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("certificate_types.id"))
    holder_id_index: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    holder_enterprise_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("enterprises.id", ondelete="CASCADE"), index=True)
    number_enc: Mapped[str] = mapped_column(sa.String(255))
    number_index: Mapped[str] = mapped_column(sa.String(64))
    fields_enc: Mapped[str] = mapped_column(sa.Text)  # encrypted JSON of the field values
    status: Mapped[str] = mapped_column(sa.String(16), default="valid")
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    type: Mapped[CertificateType] = relationship(lazy="joined")

    def status_at(self, now: datetime) -> str:
        """valid, expired or revoked, at `now` (expiry needs no job to take effect)."""
        if self.status == "revoked" or self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "valid"


class CertificateAccess(db.Model):
    """One entry of a certificate's access log: who viewed, presented or verified it."""

    __tablename__ = "certificate_access_log"
    __table_args__ = table_args(sa.Index("ix_certificate_access_log_cert_at",
                                         "certificate_id", "at"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    certificate_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("certificates.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(sa.String(16))
    actor_kind: Mapped[str] = mapped_column(sa.String(16))  # holder | verifier | department
    actor_id: Mapped[int | None] = mapped_column(BigIntId)
    institution: Mapped[str] = mapped_column(sa.String(128), default="")
    purpose: Mapped[str] = mapped_column(sa.String(64), default="")
    outcome: Mapped[str] = mapped_column(sa.String(32), default="")
    request_id: Mapped[str] = mapped_column(sa.String(64), default="")
    # Indexed alone too: the retention purge finds old entries of every certificate at once.
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Presentation(db.Model):
    """A presentation token as issued: which certificate its jti shows, and when it was used.

    The token itself names no certificate, so that two verifiers cannot link their scans; the
    server finds the certificate here, and `used_at` makes the token verify only once.
    """

    __tablename__ = "presentations"

    jti: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    certificate_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("certificates.id", ondelete="CASCADE"), index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SigningKeyRecord(db.Model):
    """The public half of every presentation-signing key, shared by all hosts through the
    database; a key retired by rotation stays verifiable until its last token has expired."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
