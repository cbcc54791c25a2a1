"""Scores of each kind of match, and how matched documents become a ranked, filtered hit list.

Match scores are multiples of SCORE_STEP. A document's popularity adds less than one step, so it
orders documents with the same match and never lifts one over a better match. Documents are
ranked among equals by IndexTables.tie_ranks: popularity, then title length.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterable, Iterator

from app.privacy.identifiers import region_prefix
from app.search.tables import IndexTables

SCORE_STEP = 0.5
POPULARITY_WEIGHT = 0.4  # < SCORE_STEP
FAQ_PENALTY = 6.0  # an FAQ ranks below an item or bundle with a comparable match
SYNONYM_PENALTY = 1.0  # through a synonym: just below the same match of the words typed

# Chinese words typed, by field (title = "name").
NAME_EXACT, NAME_PREFIX, NAME_SUBSTRING, NAME_ALL_TERMS = 100.0, 97.0, 94.0, 90.0
KEYWORD_EXACT, KEYWORD_PREFIX, KEYWORD_SUBSTRING = 76.0, 74.0, 72.0
# Partial matches rank below every whole one: some of the query's terms in a name, or whole
# keywords inside the query (驾照换证 holds 换证): + span x share of the query they cover.
NAME_PARTIAL_BASE, NAME_PARTIAL_SPAN = 50.0, 18.0
KEYWORD_CONTAINED_BASE, KEYWORD_CONTAINED_SPAN = 50.0, 16.0
MIN_PARTIAL_SHARE = 0.5
TEXT_ALL_TERMS = 40.0

# Latin letters typed, by alphabet, source (title, title with a synonym key, keyword) and where
# the phrase matched: (whole phrase, its start, a later syllable).
PINYIN_SCORES = {
    ("full", "title"): (98.0, 95.0, 91.0),
    ("full", "alias"): (97.0, 94.0, 90.0),
    ("full", "keyword"): (75.0, 73.0, 70.0),
    ("initials", "title"): (96.0, 93.0, 88.0),
    ("initials", "alias"): (95.0, 92.0, 87.0),
    ("initials", "keyword"): (74.0, 72.0, 69.0),
}
# Pinyin words of a name typed apart or out of order (jiashizheng huanzheng): + span x share
# of the typed letters found.
PIECES_BASE, PIECES_SPAN = 60.0, 26.0
PIECES_TYPO_BASE, PIECES_TYPO_SPAN = 44.0, 16.0  # the same with letters that fit no word
# A typo corrected to an indexed pinyin word, then matched in full pinyin: (start, later syllable).
FUZZY_SCORES = {"title": (64.0, 61.0), "alias": (63.0, 60.0), "keyword": (52.0, 50.0)}
FUZZY_DISTANCE_PENALTY = 4.0  # per edit beyond the first

# The best a stage can score; a stage is skipped when the hits so far all score above it.
SECOND_STAGE_BEST = max(NAME_PARTIAL_BASE + NAME_PARTIAL_SPAN, KEYWORD_EXACT,
                        PIECES_BASE + PIECES_SPAN, TEXT_ALL_TERMS) + POPULARITY_WEIGHT
TYPO_STAGE_BEST = max(max(scores) for scores in FUZZY_SCORES.values()) + POPULARITY_WEIGHT
PIECES_TYPO_BEST = PIECES_TYPO_BASE + PIECES_TYPO_SPAN + POPULARITY_WEIGHT

# When a document matches several ways with the same score, the label shown is the first here.
LABEL_PRIORITY = ("name", "synonym", "keywords", "pinyin", "initials", "text", "fuzzy")


def quantized(score: float) -> float:
    """A score rounded to the grid popularity cannot jump across."""
    return round(score / SCORE_STEP) * SCORE_STEP


def in_region(prefixes: tuple[str, ...], wanted: str) -> bool:
    """Whether a document with these region prefixes serves the wanted one (or all regions).

    A document matches its own region, every region under it, and every region above it: a
    province-wide item serves each county, and a county's item shows when searching the province.
    """
    return not prefixes or any(p.startswith(wanted) or wanted.startswith(p) for p in prefixes)


class Matches:
    """Documents matched so far, grouped by score; documents are labelled only when shown."""

    def __init__(self) -> None:
        # score → [label, documents, the documents as a set (made when first needed)]
        self._levels: dict[float, list[list]] = {}
        self.labels: set[str] = set()  # every reason recorded so far

    def add(self, score: float, label: str, docs: Iterable[int]) -> None:
        """Record that docs matched with this score, for this reason."""
        self._levels.setdefault(quantized(score), []).append([label, docs, None])
        self.labels.add(label)

    def ranked(self, tables: IndexTables, limit: int, region: str | None,
               kinds: Collection[str] | None) -> list[tuple[int, float, str]]:
        """(document, score, label) of the best `limit` documents passing the filters."""
        wanted = region_prefix(region) if region else None
        seen: set[int] = set()
        ranked: list[tuple[int, float, str]] = []
        for score, numbers in self._effective_levels(tables):
            for doc in numbers:
                if doc in seen:
                    continue
                seen.add(doc)
                if kinds is not None and tables.kinds[doc] not in kinds:
                    continue
                if wanted is not None and not in_region(tables.region_prefixes[doc], wanted):
                    continue
                raw = score if doc < tables.faq_start else quantized(score + FAQ_PENALTY)
                ranked.append((doc, score + tables.bonuses[doc], self._label(raw, doc)))
                if len(ranked) >= limit:
                    return ranked
        return ranked

    def _effective_levels(self, tables: IndexTables) -> Iterator[tuple[float, Iterable[int]]]:
        """(score after the FAQ penalty, its documents in tie-break order), best score first.

        Lazy: ranking stops as soon as it has `limit` hits, and the levels below are never
        sorted (a one-character query matches thousands of documents).
        """
        raw_scores = list(self._levels)
        split: dict[float, tuple[set[int], set[int]]] = {}
        for score in sorted({*raw_scores, *(quantized(s - FAQ_PENALTY) for s in raw_scores)},
                            reverse=True):
            items = self._split(score, tables.faq_start, split)[0]
            faqs = self._split(quantized(score + FAQ_PENALTY), tables.faq_start, split)[1]
            docs = items | faqs if items and faqs else items or faqs
            if docs:
                yield score, _in_tie_order(docs, tables)

    def _split(self, score: float, faq_start: int,
               split: dict[float, tuple[set[int], set[int]]]) -> tuple[set[int], set[int]]:
        """The documents of a raw level: (items and bundles, FAQs)."""
        if score not in split:
            groups = self._levels.get(score, ())
            docs: set[int] = set().union(*(docs for _, docs, _ in groups))
            if not docs or max(docs) < faq_start:
                split[score] = (docs, set())
            elif min(docs) >= faq_start:
                split[score] = (set(), docs)
            else:
                numbers = sorted(docs)
                cut = bisect_left(numbers, faq_start)
                split[score] = (set(numbers[:cut]), set(numbers[cut:]))
        return split[score]

    def _label(self, score: float, doc: int) -> str:
        """The best-ranked reason among those that gave doc this score."""
        best = None
        for group in self._levels[score]:
            if group[2] is None:
                group[2] = set(group[1])
            if doc in group[2]:
                rank = LABEL_PRIORITY.index(group[0])
                if best is None or rank < best:
                    best = rank
        return LABEL_PRIORITY[best] if best is not None else "name"


def _in_tie_order(docs: set[int], tables: IndexTables) -> Iterable[int]:
    """docs in tie-break order, produced only as far as they are consumed."""
    if len(docs) * _SCAN_SHARE >= len(tables.tie_order):
        # A level holding a good share of the catalog: walking the global order finds its
        # first twenty within a few hundred steps, where sorting it would touch every one.
        return (doc for doc in tables.tie_order if doc in docs)
    return sorted(docs, key=tables.tie_ranks.__getitem__)


_SCAN_SHARE = 16
