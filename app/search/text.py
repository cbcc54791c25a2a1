"""Text shared by indexing and querying: normalization, terms, pinyin and edit distance."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from pypinyin import Style, lazy_pinyin

_LATIN_RE = re.compile(r"[a-z0-9]+")
_NOISE_RE = re.compile(r"[\W_]+")
# CJK unified ideographs, extension A and compatibility ideographs; rarer extensions are kept
# by normalize but treated like other scripts (single-character terms, no pinyin).
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = re.compile(f"[{_HAN}]")
_RUN_RE = re.compile(f"[{_HAN}]+|[a-z0-9]+|[^{_HAN}a-z0-9]+")


def normalize(text: str) -> str:
    """NFKC, lower case, and only letters and digits kept (punctuation, spaces, emoji dropped)."""
    # \w without "_" is exactly Unicode categories L* and N*: Han, latin (full-width folded by
    # NFKC) and digits. Everything else is noise in a search box: spaces, ASCII and full-width
    # punctuation, symbols, emoji, combining marks.
    return _NOISE_RE.sub("", unicodedata.normalize("NFKC", text).lower())


def is_latin(text: str) -> bool:
    """Whether normalized text is only ASCII letters and digits, as typed pinyin is."""
    return _LATIN_RE.fullmatch(text) is not None


def terms(normalized: str) -> list[str]:
    """Index terms of normalized text: Han bigrams, Han unigrams, and whole latin/digit runs.

    A Han run of one character contributes only its unigram; longer runs contribute bigrams and
    unigrams. Letters of other scripts are kept as single-character terms.
    """
    found: list[str] = []
    for run in _runs(normalized):
        if _is_han(run[0]):
            found.extend(run[i : i + 2] for i in range(len(run) - 1))
            found.extend(run)
        elif _LATIN_RE.fullmatch(run):
            found.append(run)
        else:
            found.extend(run)
    return found


def query_terms(normalized: str) -> list[str]:
    """Distinct terms a query must find: bigrams where a Han run has them, else unigrams."""
    found: list[str] = []
    for run in _runs(normalized):
        if _is_han(run[0]) and len(run) > 1:
            found.extend(run[i : i + 2] for i in range(len(run) - 1))
        elif _LATIN_RE.fullmatch(run):
            found.append(run)
        else:
            found.extend(run)
    return list(dict.fromkeys(found))


def _is_han(char: str) -> bool:
    return _HAN_RE.fullmatch(char) is not None


def _runs(normalized: str) -> list[str]:
    """Maximal runs of Han characters, of latin/digits, and of anything else."""
    return _RUN_RE.findall(normalized)


def pinyin_parts(normalized: str) -> list[tuple[str, str]]:
    """(pinyin, initial) for each Han character, and (run, run) for each latin/digit run.

    社保卡 → [("she", "s"), ("bao", "b"), ("ka", "k")]; "etc卡" → [("etc", "etc"), ("ka", "k")].
    Heteronyms are read the way pypinyin's phrase dictionary reads them in context (银行 hang,
    行驶 xing); other readings are not indexed, which keeps the index small and rarely matters
    for service names. Characters without a latin spelling (kana, rare ideographs) are dropped.
    """
    parts: list[tuple[str, str]] = []
    for run in _runs(normalized):
        if _is_han(run[0]):
            for syllable in lazy_pinyin(run, style=Style.NORMAL, errors="ignore"):
                if _LATIN_RE.fullmatch(syllable):
                    parts.append((syllable, syllable[0]))
        elif _LATIN_RE.fullmatch(run):
            # Latin in a name (ETC, APP) is typed as written, in full and in "initials" alike.
            parts.append((run, run))
    return parts


def edit_distance(left: str, right: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, neighbour swaps."""
    return distance_from(left)(right)


def distance_from(pattern: str) -> Callable[[str], int]:
    """edit_distance(pattern, ·), faster when called for many words.

    Hyyrö's bit-parallel algorithm (2003): one pass over the word with the pattern's columns
    packed into an int, several times faster in Python than the textbook table.
    """
    size = len(pattern)
    matches_of: dict[str, int] = {}
    for position, char in enumerate(pattern):
        matches_of[char] = matches_of.get(char, 0) | (1 << position)
    full = (1 << size) - 1
    last = 1 << (size - 1) if size else 0

    def distance(word: str) -> int:
        if not size:
            return len(word)
        plus, minus, score = full, 0, size  # vertical +1 / -1 deltas, distance in the last row
        diagonal = previous_match = 0
        for char in word:
            match = matches_of.get(char, 0)
            swap = (((~diagonal) & match) << 1) & previous_match
            diagonal = (((match & plus) + plus) ^ plus) | match | minus | swap
            up = minus | (~(diagonal | plus) & full)
            down = diagonal & plus
            if up & last:
                score += 1
            elif down & last:
                score -= 1
            up = ((up << 1) | 1) & full
            down = (down << 1) & full
            plus = down | (~(diagonal | up) & full)
            minus = diagonal & up
            previous_match = match
        return score

    return distance


def deletions(word: str, depth: int) -> set[str]:
    """Every string reachable from word by deleting at most depth characters, word included."""
    found = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        found |= frontier
    return found
