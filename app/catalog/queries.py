"""Read queries over the catalog, cached in Redis and answered from the database without it."""

from __future__ import annotations

import sqlalchemy as sa

from app.cache import cached_json
from app.extensions import db
from app.models import Theme

CATALOG_CACHE = "catalog"


def list_themes(audience: str | None = None) -> list[dict]:
    """Themes for an audience (`both` themes appear under either), in curated order."""

    def load() -> list[dict]:
        query = sa.select(Theme).order_by(Theme.sort_order, Theme.code)
        if audience:
            query = query.where(Theme.audience.in_([audience, "both"]))
        return [
            {"code": t.code, "name": t.name, "audience": t.audience,
             "description": t.description, "icon": t.icon}
            for t in db.session.scalars(query)
        ]

    return cached_json(CATALOG_CACHE, f"themes:{audience or 'all'}", load)
