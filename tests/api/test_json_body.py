"""Request bodies are read within limits, and whatever is within them reads back as sent."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.api.json_body import MAX_DEPTH, BodyRefused, loads

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text())
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(), inner, max_size=4), max_leaves=20)


def refusal(text: str) -> tuple[int, str]:
    with pytest.raises(BodyRefused) as refused:
        loads(text.encode("utf-8", "surrogatepass"))
    return refused.value.status, refused.value.field


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@given(values)
def test_any_json_value_within_the_limits_reads_back_as_sent(value):
    assert loads(json.dumps(value, ensure_ascii=False).encode()) == value


def test_nesting_up_to_the_limit_is_read_and_one_more_level_is_400():
    assert loads(nested(MAX_DEPTH)) is not None
    assert refusal(nested(MAX_DEPTH + 1)) == (400, "0" + ".0" * (MAX_DEPTH - 1))
    assert refusal(nested(100_000)) == (400, "body")


@pytest.mark.parametrize(("text", "field"), [
    (str(2**63), "body"), ('{"a": [1, ' + str(-(2**63) - 1) + "]}", "a.1"),
    ('{"a": {"b": 1' + "0" * 30 + "}}", "a.b"), ('{"a": 1e400}', "a"),
    ('{"a": ["\\ud800"]}', "a.0"), ('{"\\udc00": 1}', "\\udc00"),
    ('{"a": {"\\ud83d": 1}}', "a.\\ud83d"),
])
def test_values_the_api_cannot_hold_are_422_named_by_their_path(text, field):
    assert refusal(text) == (422, field)


def test_a_surrogate_pair_is_one_character_and_read():
    assert loads('{"a": "\\ud83d\\ude00"}') == {"a": "😀"}


@pytest.mark.parametrize("text", ["NaN", '{"a": -Infinity}', "{", "", "\ufeff{}"])
def test_what_is_not_json_is_400(text):
    assert refusal(text)[0] == 400


def test_bytes_that_are_not_utf8_are_400():
    with pytest.raises(BodyRefused) as refused:
        loads(b'"\xc3\x28"')
    assert (refused.value.status, refused.value.field) == (400, "body")
