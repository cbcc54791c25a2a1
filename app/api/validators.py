"""Validators that enforce a rule and state it in the OpenAPI document.

apispec documents marshmallow's own validators (Length, Range, OneOf, Regexp); the rules here
need more than a pattern (check characters, the region table), so each checks with the code
the domain uses and carries the pattern, description and example the document shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import marshmallow as ma

from app.catalog.regions import is_known_region
from app.platform.orm import ROW_ID_PATTERN
from app.privacy.identifiers import (
    SERVICE_ITEM_TYPES,
    USCC_ALPHABET,
    InvalidIdentifier,
    id_check_character,
    parse_id_number,
    parse_region_code,
    parse_service_item_code,
    parse_uscc,
    uscc_check_character,
)


class DocumentedRule(ma.validate.Validator):
    """A rule checked by `check` (which raises InvalidIdentifier), or by `pattern` alone."""

    def __init__(self, check: Callable[[str], Any] | None, *, pattern: str, description: str,
                 example: str) -> None:
        self.check = check
        # apispec writes the `regex` of any validator on a field as the property's `pattern`.
        self.regex = re.compile(pattern)
        # Letter case as the parsers take it: they upper-case before checking.
        self._form = re.compile(pattern, re.IGNORECASE)
        self.openapi = {"description": description, "example": example}

    def form_only(self) -> DocumentedRule:
        """The same rule checking only the pattern, for routes whose domain checks the rest
        (after counting an attempt, or naming a nested field its own way)."""
        return DocumentedRule(None, pattern=self.regex.pattern, **self.openapi)

    def __call__(self, value: str) -> str:
        if self.check is None:
            if self._form.fullmatch(value) is None:
                raise ma.ValidationError("格式不正确")
            return value
        try:
            self.check(value)
        except InvalidIdentifier as exc:
            raise ma.ValidationError(exc.message) from None
        return value


def documented_rules(self: Any, field: ma.fields.Field, ret: dict, **kwargs: Any) -> dict:
    """apispec attribute function: what a field's documented rules say, unless its own
    metadata says otherwise."""
    found: dict[str, Any] = {}
    for validator in field.validators:
        found.update(getattr(validator, "openapi", {}))
    return {key: value for key, value in found.items() if key not in ret}


def _with_check(first17: str, check_character: Callable[[str], str]) -> str:
    return first17 + check_character(first17)


def _known_region(value: str) -> None:
    if parse_region_code(value) != value:
        raise InvalidIdentifier("地区代码无效")
    if not is_known_region(value):
        raise InvalidIdentifier("行政区划表中没有该代码")


ID_NUMBER = DocumentedRule(
    parse_id_number, pattern=r"^[0-9]{17}[0-9Xx]$",
    description="resident ID number (GB 11643): 18 characters with a known province, a birth"
                " date from 1900 to today and the ISO 7064 MOD 11-2 check character (0-9 or X)",
    # The sample number GB 11643 itself prints: no one's.
    example=_with_check("11010519491231002", id_check_character))
USCC = DocumentedRule(
    parse_uscc, pattern=rf"^[{USCC_ALPHABET}]{{18}}$",
    description="unified social credit code (GB 32100): 18 characters of 0-9 and A-Y without"
                " I, O, S, V, Z; the last is the check character (weighted modulo 31)",
    example=_with_check("91530100000000001", uscc_check_character))
REGION_CODE = DocumentedRule(
    _known_region, pattern=r"^[0-9]{6}$",
    description="a code of the region table (GB/T 2260 administrative divisions, province to"
                " county; the regions of a guide's `regions`)",
    example="530102")
ITEM_CODE = DocumentedRule(
    parse_service_item_code, pattern=rf"^(?:{'|'.join(SERVICE_ITEM_TYPES)})[0-9]{{8}}$",
    description="service item code: the item type (XK 行政许可, QR 行政确认, GF 公共服务, ...),"
                " a 5-digit main item and a 3-digit sub item",
    example="GF00001001")
ROW_ID = DocumentedRule(
    None, pattern=f"^{ROW_ID_PATTERN.pattern}$",
    description="an id as the API returns it (a string of ASCII digits)", example="1")
THEME_CODE_PATTERN = r"^[a-z][a-z0-9_]{1,31}$"
BUNDLE_CODE_PATTERN = r"^B[0-9]{3,8}$"
# Tag names as app.push.expressions reads them, written as the document states patterns: a
# namespace, then `:`-separated segments (a computed family's definition is its namespace alone).
TAG_NAME_PATTERN = r"^[a-z][a-z0-9_]*(?::[A-Za-z0-9_+.-]+)+$"
TAG_DEFINITION_PATTERN = r"^[a-z][a-z0-9_]*(?::[A-Za-z0-9_+.-]+)*$"
TAG_NAME_EXAMPLE = "life:newborn"
