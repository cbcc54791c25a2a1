"""Evaluating audience expressions over roaring bitmaps of user ids, one bitmap per tag.

Planned for tens of millions of users: an AND intersects its positive operands smallest first
and stops as soon as nothing is left, and takes its NOT operands as differences from that
running result (never as universe − x); only a NOT at the top or inside an OR is universe − x.
A tag's bitmap is used as it is, never copied and never changed: a bitmap this module made
itself may be narrowed in place, one that came from the source may not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from pyroaring import BitMap

from app.push.expressions import (
    ANY_TAG,
    And,
    Expr,
    Not,
    Or,
    Tag,
    covers,
    positive_patterns,
    simplify,
)


class TagSource(Protocol):
    """What the audience index offers the evaluator."""

    def tag_names(self) -> Iterable[str]:
        """Every tag that has a bitmap."""
        ...

    def bitmap(self, tag: str) -> BitMap:
        """The members of one tag; the caller must not change it."""
        ...

    def universe(self) -> BitMap:
        """Every user who may be targeted at all."""
        ...


@dataclass(frozen=True)
class _Members:
    bitmap: BitMap
    owned: bool  # made by this evaluation: nobody else holds it, so it may change in place
    bounded: bool  # known to lie within the universe

    def narrowed(self, other: BitMap, *, keep: bool, bounded: bool) -> _Members:
        """These members that are (keep) or are not (not keep) in `other`."""
        bitmap = self.bitmap
        # In place on our own bitmaps; a fresh one otherwise (augmented assignment
        # rebinds when the bitmap cannot change, as a FrozenBitMap cannot).
        if not self.owned:
            bitmap = bitmap & other if keep else bitmap - other
        elif keep:
            bitmap &= other
        else:
            bitmap -= other
        return _Members(bitmap, True, bounded)


class _Evaluation:
    """One evaluation against one source: the universe, each tag and each pattern read once."""

    def __init__(self, source: TagSource) -> None:
        self.source = source
        self.universe = _Members(source.universe(), owned=False, bounded=True)
        self._by_namespace: dict[str, list[str]] | None = None
        self._tags: dict[str, BitMap] = {}
        self._resolved: dict[str, BitMap] = {}

    def covered_tags(self, pattern: str) -> list[str]:
        """The source's tags the pattern covers; only its own namespace is searched."""
        if self._by_namespace is None:
            self._by_namespace = {}
            for tag in self.source.tag_names():
                self._by_namespace.setdefault(tag.partition(":")[0], []).append(tag)
        if pattern == ANY_TAG:
            return [tag for tags in self._by_namespace.values() for tag in tags]
        candidates = self._by_namespace.get(pattern.partition(":")[0], [])
        return [tag for tag in candidates if covers(pattern, tag)]

    def tag_members(self, tag: str) -> BitMap:
        """One tag's own bitmap, asked of the source once however many patterns cover it."""
        if tag not in self._tags:
            self._tags[tag] = self.source.bitmap(tag)
        return self._tags[tag]

    def pattern_members(self, pattern: str) -> BitMap:
        """The union of the covered tags' bitmaps (a tag's own bitmap when it is the only one).
        A source that keeps such unions between evaluations (`pattern_bitmap`) is asked first."""
        if pattern not in self._resolved and hasattr(self.source, "pattern_bitmap"):
            kept = self.source.pattern_bitmap(pattern)
            if kept is not None:
                self._resolved[pattern] = kept
        if pattern not in self._resolved:
            maps = [self.tag_members(tag) for tag in self.covered_tags(pattern)]
            if not maps:
                self._resolved[pattern] = BitMap()
            else:
                self._resolved[pattern] = maps[0] if len(maps) == 1 else BitMap.union(*maps)
        return self._resolved[pattern]

    def members(self, expr: Expr) -> _Members:
        if isinstance(expr, Tag):
            # Cached and possibly a tag's own bitmap: never owned, so never changed in place.
            return _Members(self.pattern_members(expr.pattern), owned=False, bounded=False)
        if isinstance(expr, Not):
            return _Members(self.universe.bitmap - self.members(expr.operand).bitmap, True, True)
        if isinstance(expr, Or):
            if hasattr(self.source, "pattern_bitmap") and all(
                    isinstance(operand, Tag) for operand in expr.operands):
                kept = self.source.pattern_bitmap(*(o.pattern for o in expr.operands))
                if kept is not None:
                    return _Members(kept, owned=False, bounded=False)
            parts = [self.members(operand) for operand in expr.operands]
            if len(parts) == 1:
                return parts[0]
            return _Members(BitMap.union(*(part.bitmap for part in parts)), owned=True,
                            bounded=all(part.bounded for part in parts))
        return self.conjunction(expr, at_top=False)

    def plan(self, expr: And, *, at_top: bool) -> tuple[_Members, list[_Members | Expr]] | None:
        """The smallest positive operand and the steps after it: the other positive operands,
        smallest first, then the negated ones (still unevaluated, so an early stop skips them).
        At the top the universe joins as one more operand. None when an operand is empty."""
        positives: list[_Members] = []
        for operand in expr.operands:
            if not isinstance(operand, Not):
                positives.append(self.members(operand))
                if not positives[-1].bitmap:
                    return None
        if not positives or (at_top and not any(part.bounded for part in positives)):
            positives.append(self.universe)
        positives.sort(key=lambda part: len(part.bitmap))
        negated = [operand.operand for operand in expr.operands if isinstance(operand, Not)]
        return positives[0], [*positives[1:], *negated]

    def conjunction(self, expr: And, *, at_top: bool) -> _Members:
        planned = self.plan(expr, at_top=at_top)
        if planned is None:
            return _Members(BitMap(), owned=True, bounded=True)
        running, steps = planned
        for step in steps:
            if not running.bitmap:
                break
            running = self.advance(running, step)
        return running

    def advance(self, running: _Members, step: _Members | Expr) -> _Members:
        """One step of an AND: keep what a positive operand holds, drop what a negated one does."""
        if isinstance(step, _Members):
            return running.narrowed(step.bitmap, keep=True,
                                    bounded=running.bounded or step.bounded)
        return running.narrowed(self.members(step).bitmap, keep=False, bounded=running.bounded)

    def conjunction_size(self, expr: And) -> int:
        """The size of a top-level AND; its last step counts instead of building a set."""
        planned = self.plan(expr, at_top=True)
        if planned is None:
            return 0
        running, steps = planned
        if not steps:
            return len(running.bitmap)
        for step in steps[:-1]:
            if not running.bitmap:
                return 0
            running = self.advance(running, step)
        last = steps[-1]
        if isinstance(last, _Members):
            return running.bitmap.intersection_cardinality(last.bitmap)
        return running.bitmap.difference_cardinality(self.members(last).bitmap)


def evaluate(expr: Expr, source: TagSource) -> BitMap:
    """The users the expression targets: always within the universe, and always a new bitmap."""
    run = _Evaluation(source)
    expr = simplify(expr)
    if isinstance(expr, And):
        found = run.conjunction(expr, at_top=True)
    else:
        found = run.members(expr)
        if not found.bounded:
            found = found.narrowed(run.universe.bitmap, keep=True, bounded=True)
    bitmap = found.bitmap
    if not found.owned or not isinstance(bitmap, BitMap):
        # The caller may change what it gets; a source's frozen bitmaps become mutable.
        bitmap = BitMap(bitmap)
    return bitmap


def count(expr: Expr, source: TagSource) -> int:
    """How many users the expression targets, without building the last set when it can."""
    run = _Evaluation(source)
    expr = simplify(expr)
    if isinstance(expr, And):
        return run.conjunction_size(expr)
    if isinstance(expr, Not):
        return run.universe.bitmap.difference_cardinality(run.members(expr.operand).bitmap)
    found = run.members(expr)
    if found.bounded:
        return len(found.bitmap)
    return found.bitmap.intersection_cardinality(run.universe.bitmap)


def sample(members: BitMap, size: int = 20) -> list[int]:
    """Up to `size` members spread evenly by rank, the same ones every time."""
    total = len(members)
    if total <= size:
        return list(members)
    return [members[index * total // size] for index in range(max(size, 0))]


def matched_tags(expr: Expr, user_tags: Iterable[str]) -> list[str]:
    """The user's tags that the expression's positive patterns cover: why they matched."""
    patterns = positive_patterns(expr)
    return sorted({tag for tag in user_tags if any(covers(p, tag) for p in patterns)})
