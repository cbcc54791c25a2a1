"""The search engine: service items, bundles and FAQs by words, pinyin, initials and synonyms.

Matches Chinese words, full pinyin, initials, synonyms and pinyin with typos.

Pure: no Flask, database or Redis. The app builds a SearchIndex from the catalog, shares
`to_bytes()` between workers (keyed by catalog version and INDEX_FORMAT_VERSION: from_bytes
refuses another format with ValueError) and queries it in process:

    index = SearchIndex.build(documents, {"驾照": ["机动车驾驶证"]})
    index.search("jiazhao", region="530102", limit=20)
"""

from app.search.documents import (
    MAX_QUERY_LENGTH,
    QueryTooLong,
    SearchDocument,
    SearchHit,
)
from app.search.index import SearchIndex
from app.search.tables import FORMAT_VERSION as INDEX_FORMAT_VERSION

__all__ = ["INDEX_FORMAT_VERSION", "MAX_QUERY_LENGTH", "QueryTooLong", "SearchDocument",
           "SearchHit", "SearchIndex"]
