"""A user's favourites and recently used items."""

from __future__ import annotations

import sqlalchemy as sa

from app.catalog.queries import find_item
from app.catalog.snapshot import ItemSummary, catalog_snapshot
from app.extensions import db
from app.models import Favorite, RecentVisit, ServiceItem, User
from app.platform.errors import Conflict
from app.platform.orm import utcnow

MAX_FAVORITES = 200
RECENT_LIMIT = 10


def add_favorite(user: User, code: str) -> None:
    """Idempotent: favouriting twice keeps one entry."""
    item = find_item(code)
    exists = db.session.scalar(sa.select(Favorite.id).where(
        Favorite.user_id == user.id, Favorite.item_id == item.id))
    if exists:
        return
    count = db.session.scalar(sa.select(sa.func.count()).where(Favorite.user_id == user.id))
    if count >= MAX_FAVORITES:
        raise Conflict(f"收藏最多 {MAX_FAVORITES} 项", errors={"code": ["收藏已满"]})
    db.session.add(Favorite(user_id=user.id, item_id=item.id))


def remove_favorite(user: User, code: str) -> None:
    item = find_item(code)
    db.session.execute(sa.delete(Favorite).where(Favorite.user_id == user.id,
                                                 Favorite.item_id == item.id))


def _codes(query: sa.Select) -> list[str]:
    return list(db.session.scalars(query))


def favorites(user: User) -> list[ItemSummary]:
    codes = _codes(sa.select(ServiceItem.code).join(Favorite, Favorite.item_id == ServiceItem.id)
                   .where(Favorite.user_id == user.id).order_by(Favorite.created_at.desc(),
                                                                Favorite.id.desc()))
    return catalog_snapshot().ordered(codes)


def recent(user: User, limit: int = RECENT_LIMIT) -> list[ItemSummary]:
    codes = _codes(sa.select(ServiceItem.code)
                   .join(RecentVisit, RecentVisit.item_id == ServiceItem.id)
                   .where(RecentVisit.user_id == user.id)
                   .order_by(RecentVisit.visited_at.desc(), RecentVisit.id.desc()).limit(limit))
    return catalog_snapshot().ordered(codes)


def remember_visit(user: User, item_id: int) -> None:
    """Move the item to the top of the user's recent list."""
    row = db.session.scalar(sa.select(RecentVisit).where(RecentVisit.user_id == user.id,
                                                         RecentVisit.item_id == item_id))
    if row is None:
        db.session.add(RecentVisit(user_id=user.id, item_id=item_id, visited_at=utcnow()))
    else:
        row.visited_at = utcnow()
