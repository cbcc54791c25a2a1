"""Building the search index from documents and synonyms, and the SearchIndex users hold."""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence

from app.privacy.identifiers import region_prefix
from app.search import query as query_module
from app.search.documents import KINDS, SearchDocument, SearchHit
from app.search.ranking import POPULARITY_WEIGHT
from app.search.tables import (
    MAX_OFFSET,
    MAX_PHRASES,
    OFFSET_BITS,
    IndexTables,
    SuffixClass,
    derive_lookups,
    dump_tables,
    load_tables,
    suffix_class_name,
)
from app.search.text import normalize, pinyin_parts, terms

# Pinyin words offered as typo corrections: runs of 2 to 4 syllables (most Chinese words), taken
# from the names of items and bundles, plus whole keywords and synonym keys and targets.
_FUZZY_SYLLABLES = (2, 3, 4)
_FUZZY_LETTERS = (3, 24)  # shorter words match anything with one typo; longer are never typed
_MAX_ALIASES = 8


class SearchIndex:
    """An immutable in-process index of items, bundles and FAQs; safe to share between threads."""

    def __init__(self, tables: IndexTables) -> None:
        self._tables = tables

    @classmethod
    def build(cls, documents: Iterable[SearchDocument],
              synonyms: Mapping[str, Sequence[str]]) -> SearchIndex:
        """Index documents; synonyms map a colloquial word to names' words (驾照 → 机动车驾驶证)."""
        return cls(build_tables(documents, synonyms))

    def search(self, query: str, *, region: str | None = None, limit: int = 20,
               kinds: Collection[str] | None = None) -> list[SearchHit]:
        """The best `limit` hits, best first; [] when the query holds nothing searchable.

        region keeps documents run everywhere, in that region, above it or under it; kinds keeps
        only those kinds. Raises QueryTooLong beyond MAX_QUERY_LENGTH characters (surrounding
        whitespace not counted).
        """
        return query_module.search(self._tables, query, region=region, limit=limit, kinds=kinds)

    def to_bytes(self) -> bytes:
        """A compact, versioned byte form that from_bytes reads back (in another process)."""
        return dump_tables(self._tables)

    @classmethod
    def from_bytes(cls, data: bytes) -> SearchIndex:
        """The index to_bytes wrote; ValueError for anything else or another format version."""
        return cls(load_tables(data))

    def __len__(self) -> int:
        return len(self._tables.keys)


def build_tables(documents: Iterable[SearchDocument],
                 synonyms: Mapping[str, Sequence[str]]) -> IndexTables:
    """Every table a query reads, from scratch."""
    ordered = _numbering_order(documents)
    tables = IndexTables()
    tables.synonyms = _normalized_synonyms(synonyms)
    tables.faq_start = sum(1 for doc in ordered if doc.kind != "faq")
    by_tie_break = sorted(range(len(ordered)), key=lambda n: _tie_break_key(ordered[n]))
    tables.tie_ranks = array("I", bytes(4 * len(ordered)))
    for rank, number in enumerate(by_tie_break):
        tables.tie_ranks[number] = rank
    most_popular = max((doc.popularity for doc in ordered), default=0.0)
    title_terms: dict[str, list[int]] = defaultdict(list)
    text_terms: dict[str, list[int]] = defaultdict(list)
    keyword_docs: dict[str, list[int]] = defaultdict(list)
    phrases = _PhraseCollector()
    for number, doc in enumerate(ordered):
        title = normalize(doc.title)
        keywords = tuple(dict.fromkeys(k for k in map(normalize, doc.keywords) if k))
        tables.kinds.append(doc.kind)
        tables.keys.append(doc.key)
        tables.titles.append(doc.title)
        tables.normalized_titles.append(title)
        tables.bonuses.append(_popularity_bonus(doc.popularity, most_popular))
        tables.region_prefixes.append(
            tuple(sorted({region_prefix(r.strip()) for r in doc.regions if r.strip()})))
        _post(title_terms, terms(title), number)
        _post(text_terms, [t for t in terms(normalize(doc.text)) if len(t) > 1], number)
        question = doc.kind == "faq"
        # Title first: a phrase is indexed once per document, under its best source.
        if title:
            phrases.add(number, "title", title, question=question)
        for alias in _aliases(title, tables.synonyms):
            phrases.add(number, "alias", alias, question=question)
        for keyword in keywords:
            _post(keyword_docs, [keyword], number)
            phrases.add(number, "keyword", keyword, question=question)
    tables.title_order = array("I", sorted(range(len(ordered)),
                                           key=tables.normalized_titles.__getitem__))
    tables.title_terms = _frozen(title_terms)
    tables.text_terms = _frozen(text_terms)
    tables.keyword_docs = _frozen(keyword_docs)
    tables.keywords = sorted(keyword_docs)
    keyword_terms: dict[str, list[int]] = defaultdict(list)
    for number, keyword in enumerate(tables.keywords):
        _post(keyword_terms, terms(keyword), number)
    tables.keyword_terms = _frozen(keyword_terms)
    tables.longest_keyword = max(map(len, keyword_docs), default=0)
    for key, targets in tables.synonyms.items():
        for word in (key, *targets):
            phrases.add_fuzzy_word(word)
    tables.phrases = {"full": phrases.full, "initials": phrases.initials}
    tables.suffixes = phrases.suffix_classes()
    tables.fuzzy_words = sorted(phrases.fuzzy_words)
    tables.syllables = frozenset(phrases.syllables)
    derive_lookups(tables)
    return tables


def _numbering_order(documents: Iterable[SearchDocument]) -> list[SearchDocument]:
    """Documents in number order (see IndexTables), each key once (the last one given wins)."""
    unique: dict[str, SearchDocument] = {}
    for doc in documents:
        if doc.kind not in KINDS:
            raise ValueError(f"unknown document kind {doc.kind!r} for {doc.key}")
        if doc.popularity < 0 or not math.isfinite(doc.popularity):
            raise ValueError(f"popularity of {doc.key} must be a finite number >= 0")
        unique[doc.key] = doc
    return sorted(unique.values(), key=lambda d: (d.kind == "faq", _tie_break_key(d)))


def _tie_break_key(doc: SearchDocument) -> tuple:
    """Between equal matches: most popular, then shortest title, item before bundle before FAQ."""
    return (-doc.popularity, len(doc.title), KINDS.index(doc.kind), doc.key)


def _popularity_bonus(popularity: float, most_popular: float) -> float:
    # Log-scaled so 10,000 visits do not bury 1,000; capped below the smallest score step.
    if most_popular <= 0:
        return 0.0
    return round(POPULARITY_WEIGHT * math.log1p(popularity) / math.log1p(most_popular), 6)


def _normalized_synonyms(synonyms: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    normalized: dict[str, tuple[str, ...]] = {}
    for key, targets in synonyms.items():
        clean = tuple(dict.fromkeys(t for t in map(normalize, targets) if t))
        key = normalize(key)
        if key and clean:
            normalized[key] = tuple(t for t in clean if t != key) or clean
    return normalized


def _aliases(title: str, synonyms: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The title with a synonym target put back to its key: 社会保障卡申领 → 社保卡申领."""
    found: dict[str, None] = {}
    for key, targets in synonyms.items():
        for target in targets:
            if target in title:
                alias = title.replace(target, key)
                if alias != title:
                    found[alias] = None
    return list(found)[:_MAX_ALIASES]


def _post(postings: dict[str, list[int]], found: Iterable[str], number: int) -> None:
    for term in dict.fromkeys(found):
        postings[term].append(number)


def _frozen(postings: dict[str, list[int]]) -> dict[str, array]:
    # Documents are visited in number order, so every posting list is already sorted.
    return {term: array("I", docs) for term, docs in postings.items()}


class _PhraseCollector:
    """Pinyin phrases with their suffix entries, and the words offered as typo corrections."""

    def __init__(self) -> None:
        self.full: list[str] = []
        self.initials: list[str] = []
        self.fuzzy_words: set[str] = set()
        self.syllables: set[str] = set()
        self._entries: dict[str, list[tuple[int, int]]] = defaultdict(list)  # class → (entry, doc)
        self._seen: set[tuple[int, str]] = set()
        self._pinyin_cache: dict[str, list[tuple[str, str]]] = {}

    def _pinyin(self, text: str) -> list[tuple[str, str]]:
        # Keywords and synonym words repeat across thousands of documents; pypinyin is the slow
        # part of a build.
        parts = self._pinyin_cache.get(text)
        if parts is None:
            parts = self._pinyin_cache[text] = pinyin_parts(text)
        return parts

    def add(self, doc: int, source: str, text: str, *, question: bool) -> None:
        """Index text (normalized) as a phrase of doc, once per doc.

        An FAQ question is long and repeats its item's name: its initials match only at its
        start (inside, three letters match something in every question), and its words are
        not offered as typo corrections (the item's name offers them already).
        """
        parts = self._pinyin(text)
        full = "".join(p for p, _ in parts)
        if not parts or (doc, full) in self._seen:
            return
        self._seen.add((doc, full))
        phrase = len(self.full)
        if phrase >= MAX_PHRASES:
            raise ValueError(f"more than {MAX_PHRASES} pinyin phrases to index")
        self.full.append(full)
        self.initials.append("".join(i for _, i in parts))
        self.syllables.update(p for p, _ in parts)
        full_offset = initial_offset = 0
        for position, (syllable, initial) in enumerate(parts):
            if full_offset > MAX_OFFSET or initial_offset > MAX_OFFSET:
                break
            where = "start" if position == 0 else "inner"
            self._entries[suffix_class_name("full", source, where)].append(
                ((phrase << OFFSET_BITS) | full_offset, doc))
            if position == 0 or not question:
                self._entries[suffix_class_name("initials", source, where)].append(
                    ((phrase << OFFSET_BITS) | initial_offset, doc))
            full_offset += len(syllable)
            initial_offset += len(initial)
        if not question:
            syllables = [p for p, _ in parts]
            if source == "keyword":
                self.add_fuzzy_word(full)
            for size in _FUZZY_SYLLABLES:
                for start in range(len(syllables) - size + 1):
                    self.add_fuzzy_word("".join(syllables[start : start + size]))

    def add_fuzzy_word(self, text: str) -> None:
        """Offer text (normalized, or already pinyin) as a typo correction."""
        word = text if text.isascii() else "".join(p for p, _ in self._pinyin(text))
        if word.isalpha() and _FUZZY_LETTERS[0] <= len(word) <= _FUZZY_LETTERS[1]:
            self.fuzzy_words.add(word)

    def suffix_classes(self) -> dict[str, SuffixClass]:
        """Each class's entries sorted by the suffix they point at (ties in document order)."""
        phrases = {"full": self.full, "initials": self.initials}
        classes = {}
        for name, entries in self._entries.items():
            text = phrases[name.split(":", 1)[0]]
            # Entries were added in document order and sort() is stable.
            entries.sort(key=lambda pair: text[pair[0] >> OFFSET_BITS][pair[0] & MAX_OFFSET :])
            classes[name] = SuffixClass(array("I", [e for e, _ in entries]),
                                        array("I", [d for _, d in entries]))
        return classes
