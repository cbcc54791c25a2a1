"""Typo tolerance: the indexed pinyin words within a small edit distance of what was typed.

Edits are insertions, deletions, substitutions and swaps of neighbours (optimal string alignment).

One edit, SymSpell-style: each word is stored under itself and every string one deletion away
from it; a word one edit from the query always shares such a string with it, so a lookup costs
about as many dictionary probes as the query has letters.

Two edits, without storing the far bigger two-deletion neighbourhood:
- an edit path with a swap in it is one swap of the query plus at most one more edit, so the
  one-edit lookup of each swapped query finds it;
- an edit path of insertions, deletions and substitutions touches at most two of a word's four
  quarters, so the other two appear unchanged in the query, shifted by at most two letters.
  Quarters are stored exactly, under the word's length; the query probes its own slices.
Both are a few hundred probes, and the second keeps only words that share two quarters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from app.search.text import deletions, distance_from

# Below this many letters a word is never two edits from a query long enough to allow two.
_TWO_EDIT_MIN_LETTERS = 6


@dataclass
class DeletionIndex:
    """Words by their one-deletion neighbourhood, and by their quarters: string → word numbers."""

    words: list[str] = field(default_factory=list)
    whole: dict[str, int | tuple[int, ...]] = field(default_factory=dict)
    quarters: dict[str, int | tuple[int, ...]] = field(default_factory=dict)
    longest: int = 0

    @classmethod
    def build(cls, words: Iterable[str]) -> DeletionIndex:
        """Index words (each once, in the order given)."""
        index = cls(words=list(dict.fromkeys(words)))
        for number, word in enumerate(index.words):
            for variant in deletions(word, 1):
                _hold(index.whole, variant, number)
            if len(word) >= _TWO_EDIT_MIN_LETTERS:
                cuts = _quarter_cuts(len(word))
                for quarter in range(4):
                    text = word[cuts[quarter] : cuts[quarter + 1]]
                    _hold(index.quarters, _quarter_key(len(word), quarter, text), number)
            index.longest = max(index.longest, len(word))
        return index

    def lookup(self, typed: str, max_distance: int) -> list[tuple[str, int]]:
        """Words within max_distance (0 to 2) of typed, closest first, typed itself excluded."""
        if max_distance <= 0 or not self.words or len(typed) > self.longest + max_distance:
            return []
        candidates: set[int] = set()
        self._collect_one_edit(typed, candidates)
        if max_distance >= 2:
            for swapped in _neighbour_swaps(typed):
                self._collect_one_edit(swapped, candidates)
            self._collect_shared_quarters(typed, candidates)
        found = []
        distance_to = distance_from(typed)
        for number in candidates:
            word = self.words[number]
            if word == typed or abs(len(word) - len(typed)) > max_distance:
                continue
            distance = distance_to(word)
            if distance <= max_distance:
                found.append((word, distance))
        found.sort(key=lambda pair: (pair[1], abs(len(pair[0]) - len(typed)), pair[0]))
        return found

    def _collect_one_edit(self, typed: str, candidates: set[int]) -> None:
        for probe in deletions(typed, 1):
            _collect(candidates, self.whole.get(probe))

    def _collect_shared_quarters(self, typed: str, candidates: set[int]) -> None:
        size = len(typed)
        quarters_found: dict[int, int] = {}  # word → bit set of its quarters seen in typed
        for length in range(max(_TWO_EDIT_MIN_LETTERS, size - 2), size + 3):
            cuts = _quarter_cuts(length)
            for quarter in range(4):
                start, end = cuts[quarter], cuts[quarter + 1]
                texts = {typed[start + shift : end + shift] for shift in range(-2, 3)
                         if start + shift >= 0 and end + shift <= size}
                for text in texts:
                    held = self.quarters.get(_quarter_key(length, quarter, text))
                    if held is None:
                        continue
                    for number in (held,) if isinstance(held, int) else held:
                        quarters_found[number] = quarters_found.get(number, 0) | (1 << quarter)
        candidates.update(n for n, seen in quarters_found.items() if seen.bit_count() >= 2)


def _quarter_cuts(length: int) -> tuple[int, int, int, int, int]:
    return (0, length // 4, length // 2, length * 3 // 4, length)


def _quarter_key(length: int, quarter: int, text: str) -> str:
    return f"{length}:{quarter}:{text}"


def _neighbour_swaps(word: str) -> list[str]:
    return [word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)
            if word[i] != word[i + 1]]


def _hold(table: dict[str, int | tuple[int, ...]], key: str, number: int) -> None:
    # Most strings belong to one word: a bare int instead of a tuple keeps the dict small.
    held = table.get(key)
    if held is None:
        table[key] = number
    elif isinstance(held, int):
        if held != number:
            table[key] = (held, number)
    elif number not in held:
        table[key] = (*held, number)


def _collect(candidates: set[int], held: int | tuple[int, ...] | None) -> None:
    if held is None:
        return
    if isinstance(held, int):
        candidates.add(held)
    else:
        candidates.update(held)


def max_typos(typed: str) -> int:
    """How many edits a latin query may contain: none below 4 letters, 2 from 8."""
    if len(typed) < 4:
        return 0
    return 1 if len(typed) < 8 else 2
