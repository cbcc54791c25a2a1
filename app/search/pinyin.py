"""Latin letters typed, against pinyin: whole, split into words, and with typos corrected.

A name is indexed by the suffixes of its full pinyin and of its initials that start at a
syllable (see tables.py), so "prefix of a suffix" is "starts at a syllable of the name".
"""

from __future__ import annotations

from app.search.ranking import (
    FUZZY_DISTANCE_PENALTY,
    FUZZY_SCORES,
    MIN_PARTIAL_SHARE,
    PIECES_BASE,
    PIECES_SPAN,
    PIECES_TYPO_BASE,
    PIECES_TYPO_SPAN,
    PINYIN_SCORES,
    Matches,
)
from app.search.tables import (
    ALPHABETS,
    OFFSET_BITS,
    SOURCES,
    IndexTables,
    SuffixClass,
    known_prefix_length,
    prefix_range,
    suffix_class_name,
)
from app.search.typos import max_typos

_MAX_CORRECTIONS = 6
_SET_OVER_SCAN = 8  # collecting a document from a slice costs about an eighth of testing one
_SYLLABLE_LETTERS = 6  # the longest pinyin syllables: zhuang, shuang
# Where pinyin words of a name are looked up when a query is split into them.
_PIECE_CLASSES = tuple(suffix_class_name("full", source, position)
                       for source in ("title", "alias") for position in ("start", "inner"))


def match_pinyin(tables: IndexTables, matches: Matches, typed: str) -> None:
    """Latin letters against the full pinyin and the initials of names, aliases and keywords."""
    # One or two letters match a syllable start almost everywhere: only phrase starts count.
    positions = ("start",) if len(typed) <= 2 else ("start", "inner")
    for alphabet in ALPHABETS:
        label = "pinyin" if alphabet == "full" else "initials"
        phrases = tables.phrases[alphabet]
        for source in SOURCES:
            whole, start, inner = PINYIN_SCORES[(alphabet, source)]
            for position in positions:
                suffixes = tables.suffixes.get(suffix_class_name(alphabet, source, position))
                if suffixes is None:
                    continue
                low, high = prefix_range(tables, alphabet, suffixes, typed)
                if low == high:
                    continue
                if position == "inner":
                    matches.add(inner, label, suffixes.docs[low:high])
                    continue
                matches.add(start, label, suffixes.docs[low:high])
                # A whole phrase sorts first among those it starts.
                end = low
                while (end < high and
                       len(phrases[suffixes.entries[end] >> OFFSET_BITS]) == len(typed)):
                    end += 1
                if end > low:
                    matches.add(whole, label, suffixes.docs[low:end])


def pinyin_pieces(tables: IndexTables, typed: str) -> tuple[list[str], int]:
    """Typed pinyin split into words found in names, and how many letters fit none.

    jiashizhenghuanzheng → [jiashizheng, huanzheng]: each piece is the longest run of whole
    syllables that some name's pinyin has at a syllable start (the last may stop mid-syllable);
    a letter that starts no such run is a typo and is skipped.
    """
    def known(text: str) -> int:
        return max((known_prefix_length(tables, "full", tables.suffixes[name], text)
                    for name in _PIECE_CLASSES if name in tables.suffixes), default=0)

    pieces: list[str] = []
    skipped = 0
    rest = typed
    while rest:
        longest = known(rest)
        chosen = None
        # Greedy runs can swallow the next word's first letters (zhengh|uanzheng): within a
        # syllable's length, prefer a cut after which the rest starts a known word again.
        for length in range(longest, 1, -1):
            piece, tail = rest[:length], rest[length:]
            if not whole_syllables(tables, piece, open_end=not tail):
                continue
            if not tail or known(tail) >= 2:
                chosen = length
                break
            if chosen is None:
                chosen = length
            if length <= longest - _SYLLABLE_LETTERS:
                break
        if chosen is None:
            skipped += 1
            rest = rest[1:]
        else:
            pieces.append(rest[:chosen])
            rest = rest[chosen:]
    return pieces, skipped


def whole_syllables(tables: IndexTables, text: str, *, open_end: bool) -> bool:
    """Whether text splits into indexed syllables; with open_end the last may be cut short."""
    syllables, starts = tables.syllables, tables.syllable_starts
    reachable = [True] + [False] * len(text)
    for at in range(len(text)):
        if not reachable[at]:
            continue
        if open_end and text[at:] in starts:
            return True
        for size in range(1, min(tables.longest_syllable, len(text) - at) + 1):
            if text[at : at + size] in syllables:
                reachable[at + size] = True
    return reachable[-1]


def match_pinyin_pieces(tables: IndexTables, matches: Matches, typed: str, *,
                         with_typos: bool) -> None:
    """Names whose full pinyin holds every typed word, not necessarily side by side.

    with_typos: only when some letters, but under half, fit no word (they are typos, and such
    matches rank with the typo corrections); else only when every letter fits one of two or
    more words (a single one is the whole query, which the first stage matched already).
    """
    pieces, skipped = pinyin_pieces(tables, typed)
    if with_typos:
        if not pieces or not skipped or skipped > len(typed) * (1 - MIN_PARTIAL_SHARE):
            return
    elif skipped or len(pieces) < 2:
        return
    slices: dict[str, list[tuple[SuffixClass, int, int]]] = {}
    for piece in pieces:
        slices[piece] = []
        for name in _PIECE_CLASSES:
            suffixes = tables.suffixes.get(name)
            if suffixes is not None:
                low, high = prefix_range(tables, "full", suffixes, piece)
                slices[piece].append((suffixes, low, high))
    by_rarity = sorted(slices, key=lambda p: sum(high - low for _, low, high in slices[p]))
    holders: set[int] = set()
    for suffixes, low, high in slices[by_rarity[0]]:
        holders.update(suffixes.docs[low:high])
    for piece in by_rarity[1:]:
        if not holders:
            return
        if sum(high - low for _, low, high in slices[piece]) <= _SET_OVER_SCAN * len(holders):
            found: set[int] = set()
            for suffixes, low, high in slices[piece]:
                found.update(suffixes.docs[low:high])
            holders &= found
        else:
            # A common word ("ji", "sheng") is in thousands of names: checking the few
            # holders left is cheaper than collecting them all. A plain substring test, so
            # it may also match across syllables; the rarest word above did not.
            phrases = tables.phrases["full"]
            holders = {doc for doc in holders
                       if any(piece in phrases[p] for p in tables.doc_phrases[doc])}
    if not holders:
        return
    if with_typos:
        share = 1 - skipped / len(typed)
        matches.add(PIECES_TYPO_BASE + PIECES_TYPO_SPAN * share, "pinyin", holders)
    else:
        matches.add(PIECES_BASE + PIECES_SPAN, "pinyin", holders)


def match_typos(tables: IndexTables, matches: Matches, typed: str) -> None:
    """Indexed pinyin words within the allowed edits of typed, matched in full pinyin."""
    corrections = tables.fuzzy_index.lookup(typed, max_typos(typed))[:_MAX_CORRECTIONS]
    for word, distance in corrections:
        penalty = FUZZY_DISTANCE_PENALTY * (distance - 1)
        for source in SOURCES:
            for position, score in zip(("start", "inner"), FUZZY_SCORES[source], strict=True):
                suffixes = tables.suffixes.get(suffix_class_name("full", source, position))
                if suffixes is None:
                    continue
                low, high = prefix_range(tables, "full", suffixes, word)
                if low < high:
                    matches.add(score - penalty, "fuzzy", suffixes.docs[low:high])
