"""Display masks of personal data."""

from __future__ import annotations

import string
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.privacy.masking import mask_cert_number, mask_id_number, mask_name, mask_phone
from tests.strategies import id_numbers


def test_masks_of_the_contract_examples() -> None:
    assert mask_id_number("530102199001011234") == "530102********1234"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_cert_number("J530102123456789") == "J5**********6789"
    assert mask_cert_number("123456") == "****56"


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三", "张*"), ("欧阳娜娜", "欧***"), ("阿卜杜·热合曼", "阿**·***"), ("张", "*"), ("", "")],
)
def test_name_keeps_only_its_first_character_and_separators(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("mask", "value", "masked"),
    [
        (mask_id_number, "", ""),
        (mask_id_number, "53010219900", "********900"),
        (mask_id_number, "530102199001011", "530********1011"),
        (mask_phone, "1381", "****"),
        (mask_phone, "138123", "****23"),
        (mask_cert_number, "", ""),
        (mask_cert_number, "A", "*"),
        (mask_cert_number, "AB", "*B"),
        (mask_cert_number, "ABC", "**C"),
        (mask_cert_number, "ABCD", "**CD"),
    ],
)
def test_short_values_reveal_no_more_than_the_rule(
    mask: Callable[[str], str], value: str, masked: str
) -> None:
    assert mask(value) == masked


@given(id_numbers())
def test_id_number_mask_hides_the_birth_date_and_sequence_start(number: str) -> None:
    masked = mask_id_number(number)
    assert masked == number[:6] + "*" * 8 + number[14:]


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_phone_mask_hides_the_middle_four_digits(phone: str) -> None:
    assert mask_phone(phone) == phone[:3] + "****" + phone[7:]


def revealed(value: str, masked: str) -> int:
    assert len(masked) == len(value)
    assert all(shown in ("*", original) for shown, original in zip(masked, value, strict=True))
    return sum(shown != "*" for shown in masked)


printable = st.text(alphabet=string.ascii_letters + string.digits + "一二三四")


@given(printable)
def test_id_number_mask_never_reveals_more_than_ten_characters(value: str) -> None:
    masked = mask_id_number(value)
    assert revealed(value, masked) <= min(10, max(0, len(value) - 8))


@given(printable)
def test_cert_number_mask_never_reveals_more_than_six_characters(value: str) -> None:
    masked = mask_cert_number(value)
    limit = 6 if len(value) > 6 else min(2, len(value) // 2)
    assert revealed(value, masked) <= limit
    assert masked[2:-4].strip("*") == ""


@given(st.text(alphabet="张三欧阳娜阿卜杜热合曼·"))
def test_name_mask_reveals_only_the_first_character_and_separators(name: str) -> None:
    masked = mask_name(name)
    assert all(char in ("*", "·") for char in masked[1:])
    if len(name) == 1:
        assert masked == "*"
    else:
        assert masked[:1] == name[:1]
