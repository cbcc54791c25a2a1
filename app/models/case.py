"""Cases (办件): applications, their timeline and materials, uploads, ratings and rectifications."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.platform.orm import BigIntId, UTCDateTime, table_args, utcnow

# submitted → accepted → in_review → approved / rejected; supplement_requested and back;
# withdrawn by the applicant before acceptance. app/cases/lifecycle.py holds the moves.
CASE_STATUSES = ("submitted", "accepted", "in_review", "supplement_requested", "approved",
                 "rejected", "withdrawn")
OPEN_STATUSES = ("submitted", "accepted", "in_review", "supplement_requested")
FINISHED_STATUSES = ("approved", "rejected", "withdrawn")
# A case filed through the mini program is online (网办); departments also record counter cases.
CHANNELS = ("online", "window")
MATERIAL_SOURCES = ("certificate", "upload")
RECTIFICATION_STATUSES = ("open", "assigned", "replied", "closed")


class CaseSerial(db.Model):
    """The last serial handed out for a province and day, so case numbers never collide."""

    __tablename__ = "case_serials"

    scope: Mapped[str] = mapped_column(sa.String(16), primary_key=True)  # "53:20261125"
    last: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class Case(db.Model):
    """One application of one service item, or the parent of a bundle's member cases."""

    __tablename__ = "cases"
    __table_args__ = table_args(
        # The reading paths: a person's own cases and an enterprise's, newest first. Status and
        # parent ride along so the list's filters are answered from the index too (InnoDB adds
        # the id): a page's ids come from the index alone.
        sa.Index("ix_cases_applicant_list", "applicant_user_id", "enterprise_id",
                 "submitted_at", "status", "parent_id"),
        sa.Index("ix_cases_enterprise_list", "enterprise_id", "submitted_at", "status",
                 "parent_id"),
        # Statistics by period (好差评 dashboards): item cases submitted in a range.
        sa.Index("ix_cases_kind_submitted", "kind", "submitted_at"),
        # The overdue sweep: open cases past their due time, not marked yet.
        sa.Index("ix_cases_status_due", "status", "due_at"),
        sa.UniqueConstraint("applicant_user_id", "client_key"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    case_no: Mapped[str] = mapped_column(sa.String(24), unique=True)
    query_code: Mapped[str] = mapped_column(sa.String(8))
    parent_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(8), default="item")  # item | bundle
    service_code: Mapped[str] = mapped_column(sa.String(20), index=True)
    service_name: Mapped[str] = mapped_column(sa.String(128))
    department: Mapped[str] = mapped_column(sa.String(128), default="")
    region_code: Mapped[str] = mapped_column(sa.String(6), default="")
    # The catalog version the case was filed under: its guide may change while it runs.
    catalog_version: Mapped[int] = mapped_column(default=0)
    applicant_user_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="SET NULL"))
    enterprise_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("enterprises.id", ondelete="SET NULL"))
    # The filled form as encrypted JSON: it may carry ID and phone numbers.
    form_enc: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(24), default="submitted")
    channel: Mapped[str] = mapped_column(sa.String(8), default="online")
    instant: Mapped[bool] = mapped_column(default=False)  # approved at submission (秒批)
    promised_limit_days: Mapped[int] = mapped_column(default=0)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When a supplement request stopped the clock; the working days it lasts extend `due_at`.
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The client's Idempotency-Key and a digest of the body it came with.
    client_key: Mapped[str | None] = mapped_column(sa.String(64))
    request_digest: Mapped[str | None] = mapped_column(sa.String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    nodes: Mapped[list[CaseNode]] = relationship(
        back_populates="case", cascade="all, delete-orphan", lazy="selectin",
        order_by="(CaseNode.at, CaseNode.id)")
    materials: Mapped[list[CaseMaterial]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="CaseMaterial.id")
    children: Mapped[list[Case]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="Case.id")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class CaseNode(db.Model):
    """A node of a case's timeline: a status it reached, when, and who handled it."""

    __tablename__ = "case_nodes"
    __table_args__ = table_args(sa.Index("ix_case_nodes_case_at", "case_id", "at"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("cases.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    department: Mapped[str] = mapped_column(sa.String(128), default="")
    source: Mapped[str] = mapped_column(sa.String(16))  # applicant | system | department
    event_id: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case: Mapped[Case] = relationship(back_populates="nodes")


class CaseMaterial(db.Model):
    """A material as filed: from a held certificate (免提交) or an uploaded file."""

    __tablename__ = "case_materials"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("cases.id", ondelete="CASCADE"),
                                         index=True)
    material_key: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(128))
    source: Mapped[str] = mapped_column(sa.String(16))  # one of MATERIAL_SOURCES
    certificate_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("certificates.id", ondelete="SET NULL"), index=True)
    upload_id: Mapped[str | None] = mapped_column(
        sa.String(32), sa.ForeignKey("uploads.id", ondelete="SET NULL"), index=True)


class Upload(db.Model):
    """A material file a user uploaded, kept outside the web root under a random name."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)  # random, unguessable
    owner_user_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    content_type: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    filename: Mapped[str] = mapped_column(sa.String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class CaseRating(db.Model):
    """好差评: the one rating of a finished case."""

    __tablename__ = "case_ratings"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("cases.id", ondelete="CASCADE"),
                                         unique=True)
    user_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="SET NULL"))
    score: Mapped[int]
    tags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    comment: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Rectification(db.Model):
    """The follow-up a bad rating (≤ 2) opens: assigned, replied to, closed; appealed once."""

    __tablename__ = "rectifications"
    __table_args__ = table_args(sa.Index("ix_rectifications_status_due", "status", "due_at"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("cases.id", ondelete="CASCADE"),
                                         unique=True)
    rating_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("case_ratings.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    department: Mapped[str] = mapped_column(sa.String(128), default="")
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assignee: Mapped[str] = mapped_column(sa.String(64), default="")
    assigned_by_admin_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("admin_accounts.id", ondelete="SET NULL"))
    reply: Mapped[str] = mapped_column(sa.String(1000), default="")
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    appeal: Mapped[str] = mapped_column(sa.String(500), default="")
    appealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    case: Mapped[Case] = relationship(lazy="joined")
    rating: Mapped[CaseRating] = relationship(lazy="joined")
