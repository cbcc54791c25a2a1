"""A naive reference for audiences (one user at a time, plain sets), the shared case suite,
an in-memory tag source and hypothesis strategies for random expressions and memberships.

The reference reads the expression the obvious way, so that the bitmap planner in
app/push/evaluation.py has something independent to be compared with.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hypothesis import strategies as st
from pyroaring import BitMap

from app.push.expressions import And, Expr, Not, Or, Tag, covers

CASES_FILE = Path(__file__).with_name("audience_cases.json")

# Tags users may carry: nested region codes, the age:60 / age:60+ pair, a tag with tags below it.
TAGS = ("region:53", "region:5301", "region:530102", "region:530103", "region:5323",
        "age:60", "age:60+", "age:65", "gender:f", "cert:driving_licence",
        "cert:driving_licence:expiring_30d", "cert:id_card", "life:newborn")
# Patterns an expression may use: those tags, prefixes, wildcards and one that covers nothing.
PATTERNS = (*TAGS, "region:530", "age:6", "region:*", "cert:*", "cert:driving_licence:*",
            "*", "optout:pension")


def holds(expr: Expr, tags: set[str]) -> bool:
    """Whether a user carrying exactly these tags is in the expression's audience."""
    if isinstance(expr, Tag):
        return any(covers(expr.pattern, tag) for tag in tags)
    if isinstance(expr, Not):
        return not holds(expr.operand, tags)
    if isinstance(expr, And):
        return all(holds(operand, tags) for operand in expr.operands)
    assert isinstance(expr, Or)
    return any(holds(operand, tags) for operand in expr.operands)


def reference_audience(expr: Expr, memberships: dict[int, set[str]],
                       universe: set[int]) -> set[int]:
    """The users of the universe whose tags satisfy the expression."""
    return {user for user in universe if holds(expr, memberships.get(user, set()))}


class MemorySource:
    """A TagSource over plain memberships, as the audience index would present them."""

    def __init__(self, memberships: dict[int, Iterable[str]], universe: Iterable[int]) -> None:
        self.maps: dict[str, BitMap] = {}
        for user, tags in memberships.items():
            for tag in tags:
                self.maps.setdefault(tag, BitMap()).add(user)
        self.everyone = BitMap(universe)

    def tag_names(self) -> list[str]:
        return list(self.maps)

    def bitmap(self, tag: str) -> BitMap:
        return self.maps[tag]

    def universe(self) -> BitMap:
        return self.everyone


def audience_groups() -> list[dict[str, Any]]:
    """The groups of audience_cases.json, with user ids as ints and tags as sets."""
    groups = json.loads(CASES_FILE.read_text(encoding="utf-8"))
    for group in groups:
        group["memberships"] = {int(user): set(tags)
                                for user, tags in group["memberships"].items()}
        group["universe"] = set(group["universe"])
    return groups


def audience_cases() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Every case with its group, as (test id, group, case)."""
    return [(f"{group['name']}: {case['expression'][:60]}", group, case)
            for group in audience_groups() for case in group["cases"]]


def expressions(max_leaves: int = 10) -> st.SearchStrategy[Expr]:
    """Random expression trees over PATTERNS (operands of AND and OR may repeat)."""
    atoms = st.sampled_from(PATTERNS).map(Tag)

    def extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
        operands = st.lists(children, min_size=2, max_size=4).map(tuple)
        return st.one_of(children.map(Not), operands.map(And), operands.map(Or))

    return st.recursive(atoms, extend, max_leaves=max_leaves)


@st.composite
def populations(draw: st.DrawFn) -> tuple[dict[int, set[str]], set[int]]:
    """Memberships of up to 40 users and a universe that leaves some of them out and takes in
    some users without tags."""
    memberships = draw(st.dictionaries(st.integers(0, 39), st.sets(st.sampled_from(TAGS)),
                                       max_size=40))
    universe = draw(st.sets(st.integers(0, 49)))
    return memberships, universe
