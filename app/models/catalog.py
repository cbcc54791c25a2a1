"""The service catalog: regions, themes, service items with their guides, and bundles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.platform.orm import BigIntId, UTCDateTime, table_args, utcnow

# Who uses the catalog: a citizen (个人) or an enterprise (法人); certificates have the same
# two kinds of holder. A theme, item or bundle may serve both.
USER_AUDIENCES = ("personal", "enterprise")
ITEM_AUDIENCES = (*USER_AUDIENCES, "both")
ONLINE_LEVELS = ("全程网办", "部分网办", "窗口办理")
MATERIAL_FORMS = ("original", "copy", "original_and_copy", "electronic")
REGION_LEVELS = ("province", "prefecture", "county")


class Region(db.Model):
    """An administrative division (行政区划), down to county level."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(sa.String(6), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    parent_code: Mapped[str | None] = mapped_column(sa.String(6), index=True)
    level: Mapped[str] = mapped_column(sa.String(16))  # one of REGION_LEVELS


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


item_themes = sa.Table(
    "service_item_themes", db.metadata,
    sa.Column("item_id", BigIntId, sa.ForeignKey("service_items.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("theme_id", BigIntId, sa.ForeignKey("themes.id", ondelete="CASCADE"),
              primary_key=True, index=True),
    mysql_charset="utf8mb4", mysql_collate="utf8mb4_unicode_ci",
)


item_regions = sa.Table(
    "service_item_regions", db.metadata,
    sa.Column("item_id", BigIntId, sa.ForeignKey("service_items.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("region_code", sa.String(6), primary_key=True, index=True),
    mysql_charset="utf8mb4", mysql_collate="utf8mb4_unicode_ci",
)


class ServiceItem(db.Model):
    """A standardized government service (政务服务事项) and its guide (办事指南)."""

    __tablename__ = "service_items"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    short_name: Mapped[str] = mapped_column(sa.String(64), default="")
    department: Mapped[str] = mapped_column(sa.String(128))
    item_type: Mapped[str] = mapped_column(sa.String(2))
    audience: Mapped[str] = mapped_column(sa.String(16), index=True)
    legal_basis: Mapped[str] = mapped_column(sa.Text, default="")
    conditions: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    legal_limit_days: Mapped[int] = mapped_column(default=0)
    promised_limit_days: Mapped[int] = mapped_column(default=0)
    fee: Mapped[str] = mapped_column(sa.String(255), default="不收费")
    online_level: Mapped[str] = mapped_column(sa.String(8), index=True)
    zero_trip: Mapped[bool] = mapped_column(default=False)
    faqs: Mapped[list[dict[str, str]]] = mapped_column(sa.JSON, default=list)
    keywords: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # The application form: {"fields": [{"name", "label", "type", "required", "options"?}]}.
    form: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # 秒批: {"conditions": [...], "result_certificate_type"?}, or None for the normal queue;
    # app/cases/instant.py reads it.
    instant_approval: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    # Curation: pinned items lead the home page and hot list; sort_order is the fallback ranking.
    pinned: Mapped[bool] = mapped_column(default=False)
    sort_order: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    themes: Mapped[list[Theme]] = relationship(secondary=item_themes, lazy="selectin",
                                               order_by=Theme.sort_order)
    region_rows: Mapped[list[ItemRegion]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ItemRegion.region_code")
    materials: Mapped[list[ServiceMaterial]] = relationship(
        back_populates="item", cascade="all, delete-orphan", lazy="selectin",
        order_by="ServiceMaterial.position")


    @property
    def regions(self) -> list[str]:
        return [row.region_code for row in self.region_rows]

    def set_regions(self, codes: list[str]) -> None:
        """Replace the regions, keeping rows that stay (their key is the whole row)."""
        existing = {row.region_code: row for row in self.region_rows}
        self.region_rows = [existing.get(code) or ItemRegion(region_code=code)
                            for code in dict.fromkeys(codes)]


class ItemRegion(db.Model):
    """A region where an item is implemented; a province or prefecture covers what is below."""

    __table__ = item_regions


class ServiceMaterial(db.Model):
    """A material (申请材料) an item requires; `certificate_type` can replace it (免提交)."""

    __tablename__ = "service_materials"
    __table_args__ = table_args(sa.UniqueConstraint("item_id", "material_key"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    item_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("service_items.id", ondelete="CASCADE"))
    material_key: Mapped[str] = mapped_column(sa.String(16))
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(128))
    required: Mapped[bool] = mapped_column(default=True)
    copies: Mapped[int] = mapped_column(default=1)
    form: Mapped[str] = mapped_column(sa.String(24), default="original")
    notes: Mapped[str] = mapped_column(sa.String(500), default="")
    certificate_type: Mapped[str | None] = mapped_column(sa.String(48))

    item: Mapped[ServiceItem] = relationship(back_populates="materials")


class Bundle(db.Model):
    """A bundle (一件事一次办): several items done with one form and one submission."""

    __tablename__ = "bundles"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name: Mapped[str] = mapped_column(sa.String(128))
    audience: Mapped[str] = mapped_column(sa.String(16))
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    form: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    members: Mapped[list[BundleItem]] = relationship(
        back_populates="bundle", cascade="all, delete-orphan", lazy="selectin",
        order_by="BundleItem.position")


class BundleItem(db.Model):
    __tablename__ = "bundle_items"
    __table_args__ = table_args(sa.UniqueConstraint("bundle_id", "item_id"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    bundle_id: Mapped[int] = mapped_column(BigIntId,
                                           sa.ForeignKey("bundles.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("service_items.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)

    bundle: Mapped[Bundle] = relationship(back_populates="members")
    item: Mapped[ServiceItem] = relationship(lazy="joined")


class Synonym(db.Model):
    """A colloquial term people type (驾照) and the official words it stands for."""

    __tablename__ = "search_synonyms"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    term: Mapped[str] = mapped_column(sa.String(32), unique=True)
    expansions: Mapped[list[str]] = mapped_column(sa.JSON, default=list)


class CatalogVersion(db.Model):
    """One row whose counter moves on every catalog edit: caches and the search index key on it,
    and it lives here so that losing Redis cannot roll it back."""

    __tablename__ = "catalog_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Favorite(db.Model):
    __tablename__ = "favorites"
    __table_args__ = table_args(sa.UniqueConstraint("user_id", "item_id"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("service_items.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecentVisit(db.Model):
    """The last time a user opened an item, for the home page's `recent` list."""

    __tablename__ = "recent_visits"
    __table_args__ = table_args(sa.UniqueConstraint("user_id", "item_id"),
                                sa.Index("ix_recent_visits_user_visited", "user_id",
                                         "visited_at"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("service_items.id", ondelete="CASCADE"), index=True)
    visited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
