"""Answering a query: Chinese words with synonyms, pinyin and initials, and pinyin with typos.

Matching runs in stages, each scoring below the one before: whole matches (the query in a name,
its pinyin or initials), then partial ones (some of its words, keywords, guide text, pinyin words
apart), then typo corrections, then pinyin words around letters that fit none. A stage runs only
when the ones before left room in the top `limit`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from itertools import product

from app.search.documents import MAX_QUERY_LENGTH, QueryTooLong, SearchHit
from app.search.pinyin import match_pinyin, match_pinyin_pieces, match_typos
from app.search.ranking import PIECES_TYPO_BEST, SECOND_STAGE_BEST, TYPO_STAGE_BEST, Matches
from app.search.tables import IndexTables
from app.search.text import is_latin, normalize
from app.search.typos import max_typos
from app.search.words import match_partial, match_whole

_MAX_SYNONYM_VARIANTS = 8

Stage = Callable[[IndexTables, Matches, str, bool], None]


def search(tables: IndexTables, query: str, *, region: str | None = None, limit: int = 20,
           kinds: Collection[str] | None = None) -> list[SearchHit]:
    """The best `limit` hits for what a citizen typed; see SearchIndex.search."""
    if len(query.strip()) > MAX_QUERY_LENGTH:
        raise QueryTooLong(f"a query has at most {MAX_QUERY_LENGTH} characters")
    # NFKC can lengthen text (one ligature, many letters): cap the work, not the user.
    typed = normalize(query)[:MAX_QUERY_LENGTH]
    if not typed or limit <= 0:
        return []
    wanted_kinds = frozenset(kinds) if kinds is not None else None
    # (text, came through a synonym): the query as typed, then with colloquial words replaced.
    variants = [(typed, False)] + [(v, True) for v in synonym_variants(typed, tables.synonyms)]
    # (stage, the best score it can give): a stage runs only while it could still place a hit.
    stages: list[tuple[Stage, float]] = [(_whole_matches, float("inf")),
                                         (_partial_matches, SECOND_STAGE_BEST)]
    if is_latin(typed) and max_typos(typed):
        stages += [(_typo_matches, TYPO_STAGE_BEST), (_pieces_with_typos, PIECES_TYPO_BEST)]
    matches = Matches()
    ranked: list[tuple[int, float, str]] = []
    for stage, stage_best in stages:
        if len(ranked) >= limit and ranked[-1][1] > stage_best:
            break
        for text, through_synonym in variants:
            stage(tables, matches, text, through_synonym)
        ranked = matches.ranked(tables, limit, region, wanted_kinds)
    return [SearchHit(kind=tables.kinds[doc], key=tables.keys[doc], title=tables.titles[doc],
                      score=round(score, 4), matched=label)
            for doc, score, label in ranked]


def synonym_variants(typed: str, synonyms: dict[str, tuple[str, ...]]) -> list[str]:
    """The query with its colloquial words replaced: 驾照换证 → 机动车驾驶证换证.

    Keys are found left to right, longest first, without overlapping (社保卡 before 社保); a key
    with several targets yields one variant per target, up to a cap. A key inside one of its
    own targets as typed (驾驶证 in 机动车驾驶证) is left alone.
    """
    if not synonyms:
        return []
    lengths = sorted({len(k) for k in synonyms}, reverse=True)
    pieces: list[tuple[str, ...]] = []
    position = plain_start = 0
    while position < len(typed):
        key = next((typed[position : position + n] for n in lengths
                    if typed[position : position + n] in synonyms), None)
        if key is None or _inside_own_target(typed, position, key, synonyms[key]):
            position += 1
            continue
        pieces.append((typed[plain_start:position],))
        pieces.append(synonyms[key])
        position = plain_start = position + len(key)
    if not pieces:
        return []
    pieces.append((typed[plain_start:],))
    variants: list[str] = []
    for choice in product(*pieces):
        variant = "".join(choice)
        if variant != typed and variant not in variants:
            variants.append(variant)
        if len(variants) >= _MAX_SYNONYM_VARIANTS:
            break
    return variants


def _inside_own_target(typed: str, position: int, key: str, targets: tuple[str, ...]) -> bool:
    for target in targets:
        at = target.find(key)
        while at >= 0:
            if position >= at and typed.startswith(target, position - at):
                return True
            at = target.find(key, at + 1)
    return False


def _whole_matches(tables: IndexTables, matches: Matches, text: str,
                   through_synonym: bool) -> None:
    """The query whole: in a name, or its pinyin and initials."""
    if is_latin(text):
        match_pinyin(tables, matches, text)
    else:
        match_whole(tables, matches, text, through_synonym=through_synonym)


def _partial_matches(tables: IndexTables, matches: Matches, text: str,
                     through_synonym: bool) -> None:
    """Some of the query's words in a name, keywords, guide text; pinyin words apart."""
    if is_latin(text):
        match_pinyin_pieces(tables, matches, text, with_typos=False)
    else:
        match_partial(tables, matches, text, through_synonym=through_synonym)


def _typo_matches(tables: IndexTables, matches: Matches, text: str,
                  through_synonym: bool) -> None:
    """The pinyin typed, corrected to indexed words within the allowed edits."""
    if not through_synonym and is_latin(text):
        match_typos(tables, matches, text)


def _pieces_with_typos(tables: IndexTables, matches: Matches, text: str,
                       through_synonym: bool) -> None:
    """Pinyin words found in a name around letters that fit none: the last resort.

    Only when no typo correction matched: a corrected word says more than scattered syllables.
    """
    if not through_synonym and is_latin(text) and "fuzzy" not in matches.labels:
        match_pinyin_pieces(tables, matches, text, with_typos=True)
