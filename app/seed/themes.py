"""Seeds catalog themes from their data file."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import Theme

THEME_FIELDS = ("name", "audience", "description", "icon")


def seed_themes(data: dict[str, Any]) -> int:
    """Insert or update themes by code; their order in the file is their display order."""
    existing = {t.code: t for t in db.session.scalars(sa.select(Theme))}
    changed = 0
    for order, row in enumerate(data["themes"]):
        theme = existing.get(row["code"])
        if theme is None:
            theme = Theme(code=row["code"])
            db.session.add(theme)
        wanted = {field: row.get(field, "") for field in THEME_FIELDS} | {"sort_order": order}
        if any(getattr(theme, field) != value for field, value in wanted.items()):
            for field, value in wanted.items():
                setattr(theme, field, value)
            changed += 1
    return changed
