"""Valid but made-up identifiers for tests and demo data.

Numbers are built from the arguments, never taken from any register; use these instead of
anyone's real ID number or credit code.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from app.privacy.identifiers import (
    USCC_ALPHABET,
    id_check_character,
    parse_id_number,
    parse_region_code,
    parse_uscc,
    uscc_check_character,
)

_ORGANIZATION_CODE_LENGTH = 9
MAX_USCC_SERIAL = len(USCC_ALPHABET) ** _ORGANIZATION_CODE_LENGTH - 1


def fake_id_number(
    region_code: str = "530102",
    birth_date: date = date(1990, 1, 1),
    sequence: int = 1,
    gender: Literal["male", "female"] | None = None,
) -> str:
    """Return a valid resident ID number for the given region, birth date and 3-digit sequence."""
    if not 0 <= sequence <= 999:
        raise ValueError("sequence must be between 0 and 999")
    if gender not in (None, "male", "female"):
        raise ValueError("gender must be 'male', 'female' or None")
    # The sequence's parity is the gender (odd male, even female); when it contradicts `gender`
    # the next number is used instead (999, the last, steps back to 998).
    if gender is not None and (sequence % 2 == 1) != (gender == "male"):
        sequence = sequence + 1 if sequence < 999 else 998
    first17 = f"{parse_region_code(region_code)}{birth_date:%Y%m%d}{sequence:03d}"
    # parse_id_number rejects birth dates before 1900 or in the future.
    return parse_id_number(first17 + id_check_character(first17)).number


def fake_uscc(
    region_code: str = "530100",
    serial: int = 1,
    authority: str = "9",
    entity_type: str = "1",
) -> str:
    """Return a valid USCC whose 9-character organization code is `serial` written in base 31."""
    if not 0 <= serial <= MAX_USCC_SERIAL:
        raise ValueError(f"serial must be between 0 and {MAX_USCC_SERIAL}")
    for name, char in (("authority", authority), ("entity_type", entity_type)):
        if len(char) != 1 or char not in USCC_ALPHABET:
            raise ValueError(f"{name} must be one character of the USCC alphabet")
    base = len(USCC_ALPHABET)
    organization_code = ""
    remaining = serial
    for _ in range(_ORGANIZATION_CODE_LENGTH):
        remaining, digit = divmod(remaining, base)
        organization_code = USCC_ALPHABET[digit] + organization_code
    first17 = f"{authority}{entity_type}{parse_region_code(region_code)}{organization_code}"
    return parse_uscc(first17 + uscc_check_character(first17))
