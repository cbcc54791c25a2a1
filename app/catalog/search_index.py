"""The catalog's search index: built once per catalog version, shared by workers through Redis.

An edit enqueues a build of the new version's index; a worker that finds no index for the
current version builds it itself and offers it to the others, so search never waits on a queue.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
import sqlalchemy as sa

from app.catalog.hot import ALL_REGIONS, ranking_key
from app.catalog.versions import current_version
from app.extensions import celery, db, redis_store
from app.models import Bundle, ServiceItem, Synonym
from app.models.catalog import USER_AUDIENCES
from app.platform.local_views import LocalView
from app.search import INDEX_FORMAT_VERSION, SearchDocument, SearchIndex

log = logging.getLogger(__name__)
INDEX_TTL_SECONDS = 86_400


def _index_key(version: int) -> str:
    return f"search:index:v{INDEX_FORMAT_VERSION}:{version}"


def _popularity() -> dict[str, float]:
    """Each item's share of the busiest item's decayed use, nationwide."""
    def read(client: redis.Redis) -> list[list[tuple[str, float]]]:
        return [client.zrange(ranking_key(audience, ALL_REGIONS), 0, -1, withscores=True)
                for audience in USER_AUDIENCES]

    scores: dict[str, float] = {}
    for ranking in redis_store.attempt(read, []):
        for code, score in ranking:
            scores[code] = scores.get(code, 0.0) + score
    top = max(scores.values(), default=0.0)
    return {code: score / top for code, score in scores.items()} if top else {}


def catalog_documents() -> list[SearchDocument]:
    """Items, their FAQs and bundles, as the search engine reads them."""
    popularity = _popularity()
    documents = []
    for item in db.session.scalars(sa.select(ServiceItem)):
        text = " ".join([item.department, *item.conditions,
                         *(m.name for m in item.materials),
                         *(step.get("name", "") for step in item.steps)])
        documents.append(SearchDocument(
            kind="item", key=item.code, title=item.name, keywords=tuple(item.keywords),
            text=text, popularity=popularity.get(item.code, 0.0), regions=tuple(item.regions)))
        for number, faq in enumerate(item.faqs, start=1):
            documents.append(SearchDocument(
                kind="faq", key=f"{item.code}#faq{number}", title=faq["question"],
                text=faq["answer"], regions=tuple(item.regions)))
    for bundle in db.session.scalars(sa.select(Bundle)):
        documents.append(SearchDocument(
            kind="bundle", key=bundle.code, title=bundle.name, text=bundle.description,
            keywords=tuple(m.item.name for m in bundle.members)))
    return documents


def synonyms() -> dict[str, list[str]]:
    return {s.term: list(s.expansions) for s in db.session.scalars(sa.select(Synonym))}


def build_and_share(version: int) -> SearchIndex:
    """Build the index of the catalog as it is now and store it for the other workers."""
    index = SearchIndex.build(catalog_documents(), synonyms())
    data = index.to_bytes()
    redis_store.attempt(lambda r: r.set(_index_key(version), data, ex=INDEX_TTL_SECONDS,
                                        nx=True), None, binary=True)
    return index


def _shared(version: int) -> SearchIndex | None:
    data = redis_store.attempt(lambda r: r.get(_index_key(version)), None, binary=True)
    if not data:
        return None
    try:
        return SearchIndex.from_bytes(data)
    except ValueError:
        log.warning("shared search index of version %s is unreadable; rebuilding", version)
        return None


def _claim_build(version: int) -> bool:
    """True for the one worker that should build this version; the others keep the old index."""
    claimed = redis_store.attempt(
        lambda r: r.set(f"search:building:{version}", "1", nx=True, ex=60), True)
    return bool(claimed)


# One per process: taken from Redis when another worker built it, else built here; while
# another worker (or the task queued by the edit) builds a new version, the previous version's
# index answers for the few seconds that takes.
_indexes = LocalView(build_and_share, shared=_shared, claim=_claim_build)


def current_index() -> SearchIndex:
    """The index of the current catalog version, loaded once per process."""
    return _indexes.get(current_version())


@celery.task(name="catalog.build_search_index")
def build_search_index(version: int) -> dict[str, Any]:
    """Prepare the index of a new catalog version before anyone searches it."""
    if current_version() != version:
        return {"version": version, "built": False}  # a newer edit has its own build
    _claim_build(version)
    build_and_share(version)
    return {"version": version, "built": True}
