"""Chinese (or any non-pinyin) words typed, against names, keywords and guide texts."""

from __future__ import annotations

from collections import Counter

from app.search.ranking import (
    KEYWORD_CONTAINED_BASE,
    KEYWORD_CONTAINED_SPAN,
    KEYWORD_EXACT,
    KEYWORD_PREFIX,
    KEYWORD_SUBSTRING,
    MIN_PARTIAL_SHARE,
    NAME_ALL_TERMS,
    NAME_EXACT,
    NAME_PARTIAL_BASE,
    NAME_PARTIAL_SPAN,
    NAME_PREFIX,
    NAME_SUBSTRING,
    SYNONYM_PENALTY,
    TEXT_ALL_TERMS,
    Matches,
)
from app.search.tables import IndexTables, title_prefix_range
from app.search.text import query_terms

_EMPTY: tuple[int, ...] = ()


def match_whole(tables: IndexTables, matches: Matches, text: str, *,
                through_synonym: bool) -> None:
    """The query whole in a name: exact, prefix, substring, or every term somewhere in it."""
    needed = query_terms(text)
    docs = _all_terms(tables.title_terms, needed)
    if not docs:
        return
    penalty = SYNONYM_PENALTY if through_synonym else 0.0
    label = "synonym" if through_synonym else "name"
    titles = tables.normalized_titles
    matches.add(NAME_ALL_TERMS - penalty, label, docs)
    # One term that is the whole query (社保, 证) is in every title it is posted for.
    inside = docs if needed == [text] else [d for d in docs if text in titles[d]]
    matches.add(NAME_SUBSTRING - penalty, label, inside)
    low, high = title_prefix_range(tables, text)
    if low < high:
        order = tables.title_order
        matches.add(NAME_PREFIX - penalty, label, order[low:high])
        end = low  # equal titles sort first among those the query starts
        while end < high and len(titles[order[end]]) == len(text):
            end += 1
        if end > low:
            matches.add(NAME_EXACT - penalty, label, order[low:end])


def match_partial(tables: IndexTables, matches: Matches, text: str, *,
                  through_synonym: bool) -> None:
    """Some of the query's terms in a name; the query and keywords; every term in the text."""
    needed = query_terms(text)
    if not needed:
        return
    penalty = SYNONYM_PENALTY if through_synonym else 0.0
    _match_some_terms(tables, matches, needed, penalty, "synonym" if through_synonym else "name")
    _match_keywords(tables, matches, text, needed, penalty,
                    "synonym" if through_synonym else "keywords")
    text_docs = _all_terms(tables.text_terms, needed)
    if text_docs:
        matches.add(TEXT_ALL_TERMS - penalty, "synonym" if through_synonym else "text", text_docs)


def _match_some_terms(tables: IndexTables, matches: Matches, needed: list[str],
                      penalty: float, label: str) -> None:
    """Names holding at least half of the query's terms, scored by the share held."""
    if len(needed) < 2:
        return
    counts: Counter[int] = Counter()
    for term in needed:
        counts.update(tables.title_terms.get(term, _EMPTY))
    total = len(needed)
    by_found: dict[int, list[int]] = {}
    for doc, found in counts.items():
        if found < total and found >= total * MIN_PARTIAL_SHARE:
            by_found.setdefault(found, []).append(doc)
    for found, docs in by_found.items():
        matches.add(NAME_PARTIAL_BASE + NAME_PARTIAL_SPAN * found / total - penalty, label, docs)


def _match_keywords(tables: IndexTables, matches: Matches, text: str, needed: list[str],
                    penalty: float, label: str) -> None:
    """Keywords equal to, starting with or holding the query, or held by it."""
    for number in _all_terms(tables.keyword_terms, needed):
        keyword = tables.keywords[number]
        if keyword == text:
            score = KEYWORD_EXACT
        elif keyword.startswith(text):
            score = KEYWORD_PREFIX
        elif text in keyword:
            score = KEYWORD_SUBSTRING
        else:
            continue
        matches.add(score - penalty, label, tables.keyword_docs[keyword])
    # Whole keywords inside a longer query: 驾照换证 holds the keywords 驾照 and 换证.
    for size in range(2, min(tables.longest_keyword, len(text) - 1) + 1):
        score = KEYWORD_CONTAINED_BASE + KEYWORD_CONTAINED_SPAN * size / len(text) - penalty
        for start in range(len(text) - size + 1):
            docs = tables.keyword_docs.get(text[start : start + size])
            if docs:
                matches.add(score, label, docs)


def _all_terms(postings: dict, needed: list[str]) -> set[int]:
    """Numbers posted for every needed term."""
    lists = [postings.get(term) for term in needed]
    if not lists or any(docs is None for docs in lists):
        return set()
    lists.sort(key=len)
    return set(lists[0]).intersection(*lists[1:])
