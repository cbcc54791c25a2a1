"""A per-process, read-only copy of the catalog's item summaries, keyed by catalog version.

Hot lists, home and search only need names, audiences and regions; holding those in memory
for the current version lets them answer with one Redis round trip and no query. A new
version (any edit) makes each worker load a fresh copy on its next request.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.catalog.versions import current_version
from app.extensions import db
from app.models import Region, ServiceItem, Theme
from app.models.catalog import USER_AUDIENCES
from app.platform.local_views import LocalView
from app.privacy.identifiers import region_ancestors, region_prefix


@dataclass(frozen=True)
class ItemSummary:
    code: str
    name: str
    short_name: str
    department: str
    audience: str
    themes: tuple[str, ...]
    online_level: str
    zero_trip: bool
    pinned: bool
    sort_order: int
    promised_limit_days: int
    regions: tuple[str, ...]

    @functools.cached_property
    def payload_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "short_name": self.short_name,
                "department": self.department, "audience": self.audience,
                "themes": list(self.themes), "online_level": self.online_level,
                "zero_trip": self.zero_trip, "promised_limit_days": self.promised_limit_days}

    def payload(self) -> dict[str, Any]:
        """The summary as the API shows it (built once per snapshot; callers must not mutate)."""
        return self.payload_dict

    def serves(self, audience: str | None) -> bool:
        return audience is None or self.audience in (audience, "both")

    def available_in(self, scope: RegionScope | None) -> bool:
        """Implemented in the scope's region: at it, above it (a province covers its counties)
        or below it."""
        if scope is None or not self.regions:
            return True
        return any(code in scope.above or code.startswith(scope.prefix) for code in self.regions)


@dataclass(frozen=True)
class RegionScope:
    """A region with the codes above it and the prefix of the codes below it."""

    code: str
    above: frozenset[str]
    prefix: str


def region_scope(region: str | None) -> RegionScope | None:
    if region is None:
        return None
    return RegionScope(region, frozenset(region_ancestors(region)), region_prefix(region))


@dataclass
class CatalogSnapshot:
    version: int
    items: dict[str, ItemSummary] = field(default_factory=dict)
    curated: list[str] = field(default_factory=list)  # pinned first, then curated order
    pinned: list[str] = field(default_factory=list)
    themes: list[dict[str, Any]] = field(default_factory=list)
    # audience (None for all) → theme code → number of items
    theme_counts: dict[str | None, dict[str, int]] = field(default_factory=dict)
    region_names: dict[str, str] = field(default_factory=dict)

    def ordered(self, codes: list[str]) -> list[ItemSummary]:
        return [self.items[c] for c in codes if c in self.items]


def _load(version: int) -> CatalogSnapshot:
    items = db.session.scalars(sa.select(ServiceItem).options(
        selectinload(ServiceItem.themes), selectinload(ServiceItem.region_rows)))
    snapshot = CatalogSnapshot(version)
    for item in items:
        snapshot.items[item.code] = ItemSummary(
            item.code, item.name, item.short_name or item.name, item.department, item.audience,
            tuple(t.code for t in item.themes), item.online_level, item.zero_trip, item.pinned,
            item.sort_order, item.promised_limit_days, tuple(item.regions))
    snapshot.curated = [s.code for s in sorted(
        snapshot.items.values(), key=lambda s: (not s.pinned, s.sort_order, s.code))]
    snapshot.pinned = [code for code in snapshot.curated if snapshot.items[code].pinned]
    snapshot.themes = [
        {"code": t.code, "name": t.name, "audience": t.audience, "description": t.description,
         "icon": t.icon} for t in db.session.scalars(sa.select(Theme).order_by(Theme.sort_order,
                                                                                Theme.code))]
    for audience in (None, *USER_AUDIENCES):
        counts = snapshot.theme_counts.setdefault(audience, {})
        for item in snapshot.items.values():
            if item.serves(audience):
                for theme in item.themes:
                    counts[theme] = counts.get(theme, 0) + 1
    snapshot.region_names = dict(db.session.execute(sa.select(Region.code, Region.name)).all())
    return snapshot


_snapshots = LocalView(_load)  # one per process, for the version last asked for


def catalog_snapshot(version: int | None = None) -> CatalogSnapshot:
    """The snapshot of `version` (default: the current one), loaded once per process."""
    return _snapshots.get(current_version() if version is None else version)
