"""One page of a longer list, as every paged answer of the API gives it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.extensions import db


@dataclass(frozen=True)
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int


def paginate(query: sa.Select, *, page: int, per_page: int) -> Page:
    """Count the whole query, then fetch the rows of one page (`query` carries its order)."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(
        query.order_by(None).subquery())) or 0
    rows = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page))
    return Page(list(rows), page, per_page, total)
