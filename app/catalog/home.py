"""The home page (首页) and the recording of uses that feed it."""

from __future__ import annotations

from typing import Any

from app.catalog.hot import hot_items, record_use
from app.catalog.personal_lists import favorites, recent, remember_visit
from app.catalog.queries import find_item
from app.catalog.recommend import profile_of, recommend
from app.catalog.regions import placeable_region
from app.catalog.snapshot import region_scope
from app.models import User
from app.push.inbox import unread_count

# The province this deployment serves (云南省): the region of the home page and the hot list
# when the caller names none (and, for the home page, has none on file).
DEFAULT_REGION = "530000"
HOME_HOT_LIMIT = 10


def home(user: User | None, region: str | None, audience: str) -> dict[str, Any]:
    """Pinned and hot for everyone; recommended, recent, favourites and the number of unread
    messages for a logged-in user."""
    region = region or placeable_region(user.region_code if user else None) or DEFAULT_REGION
    snapshot, hot = hot_items(region, audience, HOME_HOT_LIMIT)
    scope = region_scope(region)
    pinned = [snapshot.items[c].payload() for c in snapshot.pinned
              if snapshot.items[c].serves(audience) and snapshot.items[c].available_in(scope)]
    page: dict[str, Any] = {
        "region": {"code": region, "name": snapshot.region_names.get(region, "")},
        "audience": audience, "pinned": pinned,
        "hot": [item.payload() for item in hot],
        "recommended": [], "recent": [], "favorites": [], "unread_messages": 0,
    }
    if user is not None:
        page["recommended"] = recommend(snapshot, profile_of(user))
        page["recent"] = [item.payload() for item in recent(user)]
        page["favorites"] = [item.payload() for item in favorites(user)]
        page["unread_messages"] = unread_count(user)
    return page


def record_visit(code: str, user: User | None, region: str | None, audience: str) -> None:
    """A use of an item: counts towards the hot ranking and the user's recent list."""
    item = find_item(code)
    region = region or placeable_region(user.region_code if user else None)
    record_use(item.code, region, audience)
    if user is not None:
        remember_visit(user, item.id)
