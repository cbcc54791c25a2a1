"""Audience expressions: tag names, patterns, parsing, errors and canonical text."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.platform.errors import InvalidInput
from app.push.expressions import (
    MAX_DEPTH,
    TAG_NAME,
    And,
    AudienceError,
    Expr,
    Not,
    Or,
    Tag,
    canonical,
    covers,
    is_pattern,
    is_tag_name,
    normalize,
    parse,
    positive_patterns,
)
from tests.unit.push.reference import (
    audience_cases,
    expressions,
    populations,
    reference_audience,
)

CASES = audience_cases()
ERROR_CASES = [pytest.param(group, case, id=name) for name, group, case in CASES
               if "error_offset" in case]
CANONICAL_CASES = [pytest.param(case, id=name) for name, _, case in CASES if "canonical" in case]


def refusal(text: str) -> AudienceError:
    with pytest.raises(AudienceError) as caught:
        parse(text)
    return caught.value


@pytest.mark.parametrize("name", [
    "region:530102", "age:60+", "gender:f", "user:enterprise", "cert:driving_licence:expiring_30d",
    "case:GF00123003:approved", "life:newborn", "optout:pension", "industry:c13", "a_1:B-2.x",
    "a:" + "x" * 62,
])
def test_well_formed_tag_names_are_accepted(name: str) -> None:
    assert is_tag_name(name)
    assert TAG_NAME.match(name)
    assert is_pattern(name)


@pytest.mark.parametrize("name", [
    "", "region", "Region:53", "1region:53", "region:", "region::53", ":53", "region:53:",
    "region:5 3", "区域:53", "region:53*", "region:*", "*", "a:" + "x" * 63, "region:53\n",
])
def test_malformed_tag_names_are_refused_even_by_a_plain_regex_match(name: str) -> None:
    assert not is_tag_name(name)
    assert TAG_NAME.match(name) is None


@pytest.mark.parametrize(("pattern", "valid"), [
    ("*", True), ("cert:*", True), ("cert:driving_licence:*", True), ("cert:*:x", False),
    ("**", False), ("cert:**", False), ("Cert:*", False), ("*:x", False),
])
def test_a_star_stands_only_alone_or_as_a_whole_last_segment(pattern: str, valid: bool) -> None:
    assert is_pattern(pattern) is valid


@pytest.mark.parametrize(("pattern", "tag", "covered"), [
    ("region:530102", "region:530102", True),
    ("region:5301", "region:530102", True),
    ("region:53", "region:530102", True),
    ("region:53", "region:5301", True),
    ("region:530102", "region:5301", False),
    ("region:5302", "region:530102", False),
    ("region:53", "region:530102:urban", True),
    ("age:60", "age:60+", False),
    ("age:60+", "age:60", False),
    ("age:6", "age:60", True),
    ("cert:driving_licence", "cert:driving_licence:expiring_30d", True),
    ("cert:driving", "cert:driving_licence", False),
    ("cert:driving_licence:*", "cert:driving_licence:expiring_30d", True),
    ("cert:driving_licence:*", "cert:driving_licence", False),
    ("cert:*", "cert:id_card", True),
    ("cert:*", "certificate:id_card", False),
    ("case:GF0012300", "case:GF00123003", False),
    ("region:53", "age:53", False),
    ("*", "life:newborn", True),
])
def test_a_pattern_covers_its_tag_the_tags_below_and_longer_digit_codes(
        pattern: str, tag: str, covered: bool) -> None:
    assert covers(pattern, tag) is covered


def test_not_binds_tighter_than_and_which_binds_tighter_than_or() -> None:
    assert parse("a:1 OR b:1 AND NOT c:1") == Or((Tag("a:1"), And((Tag("b:1"), Not(Tag("c:1"))))))
    assert parse("(a:1 OR b:1) AND c:1") == And((Or((Tag("a:1"), Tag("b:1"))), Tag("c:1")))


def test_keywords_are_read_in_any_case_and_written_in_capitals() -> None:
    assert canonical(parse("not a:1 Or b:1 aNd c:1")) == "NOT a:1 OR b:1 AND c:1"


def test_tags_keep_their_case() -> None:
    assert parse("case:GF001") == Tag("case:GF001")
    assert parse("case:GF001") != parse("case:gf001")


def test_a_long_run_of_nots_parses_without_exhausting_the_stack() -> None:
    text = "NOT " * 499 + "t:1"
    assert len(text) <= 2000
    assert canonical(parse(text)) == "NOT t:1"


@pytest.mark.parametrize(("group", "case"), ERROR_CASES)
def test_refused_expressions_name_the_audience_and_the_offset(
        group: dict[str, Any], case: dict[str, Any]) -> None:
    error = refusal(case["expression"])
    assert isinstance(error, InvalidInput)
    assert error.field == "audience"
    assert error.offset == case["error_offset"]
    [detail] = error.errors["audience"]
    assert detail.startswith(f"offset {case['error_offset']}: ")
    assert error.message.startswith("受众表达式有误：")


@pytest.mark.parametrize("case", CANONICAL_CASES)
def test_canonical_text_of_the_shared_cases(case: dict[str, Any]) -> None:
    assert canonical(parse(case["expression"])) == case["canonical"]
    assert canonical(parse(case["canonical"])) == case["canonical"]


def test_the_message_counts_characters_from_one_and_the_detail_from_zero() -> None:
    error = refusal("region:53 AND OR age:60+")
    assert error.message == "受众表达式有误：第 15 个字符处应为标签，却是关键字 OR"
    assert error.errors == {"audience": ["offset 14: expected a tag, found keyword OR"]}


def test_each_kind_of_fault_says_what_is_wrong() -> None:
    reasons = {text: refusal(text).errors["audience"][0] for text in [
        "", "a:1 AND", "a:1 AND )", "a:1 OR AND b:1", "A:1", "(a:1", "a:1)", "(a:1 b:1)",
        "a:1 b:1"]}
    assert reasons == {
        "": "offset 0: empty expression",
        "a:1 AND": "offset 7: expected a tag, found the end",
        "a:1 AND )": "offset 8: unexpected token ')': expected a tag",
        "a:1 OR AND b:1": "offset 7: expected a tag, found keyword AND",
        "A:1": "offset 0: invalid tag name 'A:1'",
        "(a:1": "offset 0: unbalanced parenthesis: '(' is never closed",
        "a:1)": "offset 3: unbalanced parenthesis: ')' without '('",
        "(a:1 b:1)": "offset 5: unexpected token 'b:1': expected AND, OR or ')'",
        "a:1 b:1": "offset 4: trailing input 'b:1': expected AND, OR or the end",
    }


def test_limits_are_refused_naming_the_audience() -> None:
    too_long, too_many, too_deep = (refusal("t:1" + " " * 1998),
                                    refusal(" OR ".join(["t:1"] * 65)),
                                    refusal("(" * (MAX_DEPTH + 1) + "t:1" + ")" * (MAX_DEPTH + 1)))
    assert too_long.errors == {"audience": ["offset 2000: expression longer than 2000 characters"]}
    assert too_many.errors == {"audience": ["offset 448: more than 64 tags"]}
    assert too_deep.errors == {"audience": ["offset 16: parentheses nested deeper than 16"]}


def test_a_fault_quotes_a_long_word_shortened() -> None:
    error = refusal("t:1 " + "x" * 100)
    assert "x" * 32 + "…" in error.message
    assert "x" * 33 not in error.message


def test_canonical_form_flattens_deduplicates_sorts_and_drops_double_negation() -> None:
    text = "(b:1 AND (a:1 AND b:1)) OR NOT NOT c:1 OR (c:1 OR a:1 AND b:1)"
    assert canonical(parse(text)) == "a:1 AND b:1 OR c:1"


def test_canonical_form_keeps_parentheses_only_where_they_matter() -> None:
    assert canonical(parse("((a:1 OR b:1)) AND NOT (c:1 AND d:1)")) == \
        "NOT (c:1 AND d:1) AND (a:1 OR b:1)"
    assert canonical(parse("(a:1 AND b:1) OR (NOT c:1)")) == "NOT c:1 OR a:1 AND b:1"


def test_normalize_gives_the_simplified_tree_and_its_text() -> None:
    expr, text = normalize("NOT NOT b:1 AND a:1 AND b:1")
    assert expr == And((Tag("a:1"), Tag("b:1")))
    assert text == "a:1 AND b:1"


def test_positive_patterns_leave_out_what_is_negated_an_odd_number_of_times() -> None:
    expr = parse("region:53 AND NOT optout:pension OR NOT (NOT cert:* AND age:60+) OR region:53")
    assert positive_patterns(expr) == ["cert:*", "region:53"]


@st.composite
def written(draw: st.DrawFn, expr: Expr, depth: int = 0) -> str:
    """The tree as an admin might type it: keywords in any case, spare parentheses (while the
    nesting stays within the limit), odd spacing."""
    space = draw(st.sampled_from([" ", "  ", "\t", "\u3000"]))
    if isinstance(expr, And | Or):
        keyword = draw(st.sampled_from(["AND", "and"] if isinstance(expr, And) else ["OR", "or"]))
        parts = [draw(written(operand, depth + 1)) for operand in expr.operands]
        return f"({f'{space}{keyword}{space}'.join(parts)})"
    spare = depth < MAX_DEPTH // 2 and draw(st.booleans())
    if isinstance(expr, Tag):
        text = expr.pattern
    else:
        keyword = draw(st.sampled_from(["NOT", "not", "Not"]))
        text = f"{keyword}{space}{draw(written(expr.operand, depth + spare))}"
    return f"({text})" if spare else text


@settings(max_examples=150, deadline=None)
@given(st.data(), expressions())
def test_the_parser_reads_back_any_tree_however_it_is_written(data: st.DataObject,
                                                               expr: Expr) -> None:
    assert parse(data.draw(written(expr))) == expr


@settings(max_examples=150, deadline=None)
@given(expressions(), populations())
def test_canonical_text_is_stable_and_keeps_the_audience(
        expr: Expr, population: tuple[dict[int, set[str]], set[int]]) -> None:
    text = canonical(expr)
    again = parse(text)
    assert canonical(again) == text
    assert reference_audience(again, *population) == reference_audience(expr, *population)
