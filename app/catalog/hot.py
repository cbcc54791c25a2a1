"""High-frequency services (高频服务): uses counted per region and audience, forgetting with time.

Each use adds 2^((t - EPOCH) / HALF_LIFE) to the item's score in a Redis sorted set, so
comparing scores compares exponentially decayed counts without rewriting old entries (forward
decay): a use today weighs twice one a week ago. Doubles hold the growing weights for well over
a century. A use counts at its county, prefecture, province and nationwide, so a county with
little data falls back on the regions above it. Losing Redis loses only the ranking: the list
then falls back to the curated order.
"""

from __future__ import annotations

import logging
import time

import redis

from app.catalog.snapshot import CatalogSnapshot, ItemSummary, catalog_snapshot, region_scope
from app.catalog.versions import VERSION_KEY, current_version, note_version
from app.extensions import redis_store
from app.privacy.identifiers import region_ancestors

log = logging.getLogger(__name__)

EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z
HALF_LIFE_SECONDS = 7 * 86_400
MAX_RANKED = 500  # items kept per set; the tail carries no ranking information
ALL_REGIONS = "all"


def ranking_key(audience: str, region: str) -> str:
    """The sorted set ranking an audience's uses in a region."""
    return f"hot:{audience}:{region}"


def use_weight(now: float | None = None) -> float:
    return 2.0 ** (((now or time.time()) - EPOCH) / HALF_LIFE_SECONDS)


def record_use(code: str, region: str | None, audience: str, count: float = 1.0) -> None:
    """Count one use of an item in a region (and every region above it)."""
    regions = [*(region_ancestors(region) if region else []), ALL_REGIONS]
    weight = use_weight() * count

    def count_use(client: redis.Redis) -> bool:
        pipe = client.pipeline(transaction=False)
        for level in regions:
            key = ranking_key(audience, level)
            pipe.zincrby(key, weight, code)
            pipe.zremrangebyrank(key, 0, -(MAX_RANKED + 1))
        pipe.execute()
        return True

    # A use lost while Redis is down is accepted, not refused with a 503: the ranking is a
    # decayed hint that the uses after the outage rebuild, and refusing the visit would also
    # lose the user's recent list, which lives in the database. Logged to explain the gap.
    if not redis_store.attempt(count_use, False):
        log.info("hot ranking missed a use of %s: redis unavailable", code)


def _ranked(audience: str, region: str | None, depth: int) -> tuple[int | None, list[list[str]]]:
    """The catalog version and each level's ranking, most specific first, in one round trip."""
    levels = [*(region_ancestors(region) if region else []), ALL_REGIONS]

    def read(client: redis.Redis) -> list:
        pipe = client.pipeline(transaction=False)
        pipe.get(VERSION_KEY)
        for level in levels:
            pipe.zrevrange(ranking_key(audience, level), 0, depth - 1)
        return pipe.execute()

    answers = redis_store.attempt(read, None)
    if answers is None:
        return None, []
    version, *rankings = answers
    return (int(version) if version is not None else None), rankings


def hot_items(region: str | None, audience: str = "personal", limit: int = 10
              ) -> tuple[CatalogSnapshot, list[ItemSummary]]:
    """Pinned items first, then the most used in the region falling back up the hierarchy,
    then the curated order; only items offered to the audience in the region. Returns the
    snapshot it read too, so callers need no second look-up of the version."""
    version, rankings = _ranked(audience, region, depth=limit * 3)
    if version is None:
        version = current_version()
    else:
        note_version(version)
    snapshot = catalog_snapshot(version)
    return snapshot, pick(snapshot, rankings, region, audience, limit)


def pick(snapshot: CatalogSnapshot, rankings: list[list[str]], region: str | None,
         audience: str, limit: int) -> list[ItemSummary]:
    """Merge pinned, ranked and curated codes into at most `limit` items, without repeats."""
    scope = region_scope(region)
    chosen: list[ItemSummary] = []
    seen: set[str] = set()
    for codes in (snapshot.pinned, *rankings, snapshot.curated):
        for code in codes:
            item = snapshot.items.get(code)
            if (item is None or code in seen or not item.serves(audience)
                    or not item.available_in(scope)):
                continue
            seen.add(code)
            chosen.append(item)
            if len(chosen) == limit:
                return chosen
    return chosen
