"""What goes into the search index and what comes out of it."""

from __future__ import annotations

from dataclasses import dataclass

MAX_QUERY_LENGTH = 50
KINDS = ("item", "bundle", "faq")


class QueryTooLong(ValueError):
    """The query has more than MAX_QUERY_LENGTH characters (the API answers 422)."""


@dataclass(frozen=True)
class SearchDocument:
    """One searchable thing: a service item, a bundle (一件事) or an FAQ of an item."""

    kind: str  # "item" | "bundle" | "faq"
    key: str  # item code, bundle code, or "ITEMCODE#faq3"
    title: str  # the name; for an FAQ, the question
    keywords: tuple[str, ...] = ()
    text: str = ""  # guide text (conditions, materials, department); for an FAQ, the answer
    popularity: float = 0.0  # >= 0, e.g. recent visits; only ever breaks ties
    regions: tuple[str, ...] = ()  # 6-digit implementing region codes; empty = everywhere


@dataclass(frozen=True)
class SearchHit:
    """A document that matched, with how it matched: name, keywords, text, pinyin, initials,
    synonym or fuzzy."""

    kind: str
    key: str
    title: str
    score: float
    matched: str
