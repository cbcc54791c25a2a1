"""Evaluating audiences over bitmaps, checked against the naive reference and the shared cases."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import pytest
from hypothesis import given, settings
from pyroaring import BitMap, FrozenBitMap

from app.push.evaluation import count, evaluate, matched_tags, sample
from app.push.expressions import Expr, parse
from tests.unit.push.reference import (
    MemorySource,
    audience_cases,
    expressions,
    populations,
    reference_audience,
)

AUDIENCE_CASES = [pytest.param(group, case, id=name) for name, group, case in audience_cases()
                  if "audience" in case]

Population = tuple[dict[int, set[str]], set[int]]


class FrozenSource(MemorySource):
    """The same source with bitmaps that raise if anything tries to change them."""

    def bitmap(self, tag: str) -> BitMap:
        return FrozenBitMap(self.maps[tag])  # type: ignore[return-value]

    def universe(self) -> BitMap:
        return FrozenBitMap(self.everyone)  # type: ignore[return-value]


class WatchedSource(MemorySource):
    """A source that records what the evaluator asks of it."""

    def __init__(self, memberships: dict[int, Iterable[str]], universe: Iterable[int]) -> None:
        super().__init__(memberships, universe)
        self.listings = 0
        self.fetched: list[str] = []

    def tag_names(self) -> list[str]:
        self.listings += 1
        return super().tag_names()

    def bitmap(self, tag: str) -> BitMap:
        self.fetched.append(tag)
        return super().bitmap(tag)


class WatchedUniverse(BitMap):
    """A universe that records each time a new set is built by subtracting from it."""

    subtractions = 0

    def __sub__(self, other: Any) -> BitMap:
        WatchedUniverse.subtractions += 1
        return BitMap(self) - other


class SizedBitMap(BitMap):
    """A tag bitmap that records the sizes of both sides whenever it is intersected."""

    intersections: ClassVar[list[tuple[int, int]]] = []

    def __and__(self, other: Any) -> BitMap:
        SizedBitMap.intersections.append((len(self), len(other)))
        return BitMap(self) & other


def snapshot(source: MemorySource) -> tuple[dict[str, list[int]], list[int]]:
    return {tag: list(bitmap) for tag, bitmap in source.maps.items()}, list(source.everyone)


@pytest.mark.parametrize(("group", "case"), AUDIENCE_CASES)
def test_shared_cases_agree_with_the_evaluator_and_the_reference(
        group: dict[str, Any], case: dict[str, Any]) -> None:
    expr = parse(case["expression"])
    source = MemorySource(group["memberships"], group["universe"])
    assert sorted(evaluate(expr, source)) == case["audience"]
    assert count(expr, source) == len(case["audience"])
    assert sorted(reference_audience(expr, group["memberships"], group["universe"])) == \
        case["audience"]


@settings(max_examples=200, deadline=None)
@given(expressions(), populations())
def test_the_evaluator_finds_what_the_reference_finds(expr: Expr, population: Population) -> None:
    source = MemorySource(*population)
    before = snapshot(source)
    members = evaluate(expr, source)
    assert set(members) == reference_audience(expr, *population)
    assert count(expr, source) == len(members)
    assert snapshot(source) == before


@settings(max_examples=100, deadline=None)
@given(expressions(), populations())
def test_frozen_source_bitmaps_are_read_and_never_changed(expr: Expr,
                                                          population: Population) -> None:
    members = evaluate(expr, FrozenSource(*population))
    assert isinstance(members, BitMap)
    assert set(members) == reference_audience(expr, *population)
    assert count(expr, FrozenSource(*population)) == len(members)


def test_the_result_is_a_new_bitmap_the_caller_may_change() -> None:
    source = MemorySource({1: ["a:1"], 2: ["a:1"]}, [1, 2])
    members = evaluate(parse("a:1"), source)
    members.add(3)
    members.discard(1)
    assert list(source.bitmap("a:1")) == [1, 2]
    assert list(source.universe()) == [1, 2]


def test_tag_members_outside_the_universe_are_never_targeted() -> None:
    source = MemorySource({1: ["a:1"], 2: ["a:1", "b:1"], 3: ["b:1"]}, [2, 3, 4])
    assert list(evaluate(parse("a:1 OR b:1"), source)) == [2, 3]
    assert list(evaluate(parse("NOT a:1"), source)) == [3, 4]
    assert count(parse("a:1"), source) == 1


def test_a_not_inside_an_and_subtracts_from_the_running_result_not_from_the_universe() -> None:
    memberships = {user: ["a:1"] if user % 2 else ["b:1"] for user in range(100)}
    source = MemorySource(memberships, [])
    source.everyone = WatchedUniverse(range(100))
    WatchedUniverse.subtractions = 0
    assert len(evaluate(parse("* AND NOT a:1"), source)) == 50
    assert count(parse("* AND NOT a:1 AND NOT c:1"), source) == 50
    assert WatchedUniverse.subtractions == 0
    assert len(evaluate(parse("NOT a:1"), source)) == 50
    assert WatchedUniverse.subtractions == 1


def test_an_and_intersects_its_smallest_operands_first() -> None:
    memberships = {user: ["big:1"] + ["mid:1"] * (user < 20) + ["small:1"] * (user < 5)
                   for user in range(50)}
    source = MemorySource(memberships, range(100))
    source.maps = {tag: SizedBitMap(bitmap) for tag, bitmap in source.maps.items()}
    SizedBitMap.intersections = []
    assert list(evaluate(parse("big:1 AND mid:1 AND small:1"), source)) == [0, 1, 2, 3, 4]
    assert SizedBitMap.intersections == [(5, 20)]


def test_an_and_whose_positive_part_is_empty_never_reads_its_negated_operands() -> None:
    source = WatchedSource({1: ["a:1"], 2: ["b:1"], 3: ["c:1"]}, [1, 2, 3])
    assert list(evaluate(parse("a:1 AND b:1 AND NOT c:1"), source)) == []
    assert count(parse("a:1 AND b:1 AND NOT c:1"), source) == 0
    assert "c:1" not in source.fetched


def test_patterns_are_resolved_once_per_evaluation() -> None:
    source = WatchedSource({1: ["region:530102", "age:60+"], 2: ["region:530103"]}, [1, 2])
    expr = parse("(region:53 AND age:60+) OR (region:53 AND NOT age:60+) OR region:5301")
    assert list(evaluate(expr, source)) == [1, 2]
    assert source.listings == 1
    assert sorted(source.fetched) == ["age:60+", "region:530102", "region:530103"]


def test_a_sample_is_spread_evenly_by_rank_and_the_same_every_time() -> None:
    members = BitMap(range(0, 2000, 2))
    assert sample(members, 10) == [0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800]
    assert sample(members, 10) == sample(BitMap(members), 10)
    assert len(sample(members)) == 20


def test_a_small_audience_is_sampled_whole() -> None:
    assert sample(BitMap([5, 3, 9]), 20) == [3, 5, 9]
    assert sample(BitMap(), 20) == []
    assert sample(BitMap([1, 2]), 0) == []


def test_matched_tags_are_the_users_tags_behind_positive_patterns() -> None:
    expr = parse("region:53 AND NOT optout:pension OR cert:* AND NOT age:60")
    user_tags = ["region:530102", "optout:pension", "cert:id_card", "age:60", "gender:f"]
    assert matched_tags(expr, user_tags) == ["cert:id_card", "region:530102"]
    assert matched_tags(parse("NOT NOT gender:f"), user_tags) == ["gender:f"]
    assert matched_tags(parse("NOT gender:f"), user_tags) == []


class KeptUnionsSource(MemorySource):
    """The index's view: prefix and OR unions kept between evaluations."""

    def __init__(self, *population: Any) -> None:
        from app.push.index import IndexView, PatternUnions

        super().__init__(*population)
        self.view = IndexView(self.maps, 0, PatternUnions())

    def pattern_bitmap(self, *patterns: str) -> Any:
        return self.view.pattern_bitmap(*patterns)


@given(expressions(), populations())
def test_kept_unions_give_what_the_reference_gives_twice_over(expr: Expr,
                                                              population: Population) -> None:
    source = KeptUnionsSource(*population)
    expected = reference_audience(expr, *population)
    assert set(evaluate(expr, source)) == expected
    assert set(evaluate(expr, source)) == expected  # the second time from the kept unions
    assert count(expr, source) == len(expected)
