"""Rules WeChat applies to subscribe-message data and pages, by key type (thing, time, ...)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Any

_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})-([0-9]{2})|年([0-9]{2})月([0-9]{2})日)")
_TIME = re.compile(r"(?:(?P<date>\S+) )?(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})")
_AMOUNT = re.compile(r"[¥￥$][0-9]{1,10}(?:\.[0-9]{2})?元?")
_CAR_NUMBER = re.compile(r"(?=.{1,8}$)[\u4e00-\u9fff]?[A-Za-z0-9]*[\u4e00-\u9fff]?")
# Mixed Chinese and letters counts as a Chinese name (≤ 10), as WeChat documents.
_NAME = re.compile(r"(?=.*[\u4e00-\u9fff])[\u4e00-\u9fffA-Za-z·]{1,10}|[A-Za-z][A-Za-z .'\-]{0,19}")
_URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def _is_symbol(char: str) -> bool:
    # WeChat: a symbol is a visible character that is neither a letter, a digit nor Chinese.
    return not char.isalnum() and char.isprintable() and not char.isspace()


def _is_date(value: str) -> bool:
    match = _DATE.fullmatch(value)
    if match is None:
        return False
    try:
        datetime.date(int(match[1]), int(match[2] or match[4]), int(match[3] or match[5]))
    except ValueError:
        return False
    return True


def _is_time(value: str) -> bool:
    match = _TIME.fullmatch(value)
    return (
        match is not None
        and (match["date"] is None or _is_date(match["date"]))
        and int(match["hour"]) < 24
        and int(match["minute"]) < 60
    )


VALUE_RULES: dict[str, Callable[[str], bool]] = {
    "thing": lambda v: 0 < len(v) <= 20 and v.isprintable(),
    "number": lambda v: bool(_NUMBER.fullmatch(v)) and sum(c.isdigit() for c in v) <= 32,
    "letter": lambda v: bool(re.fullmatch(r"[A-Za-z]{1,32}", v)),
    "symbol": lambda v: 0 < len(v) <= 5 and all(_is_symbol(c) for c in v),
    "character_string": lambda v: bool(re.fullmatch(r"[!-~]{1,32}", v)),  # visible ASCII
    "time": _is_time,
    "date": _is_date,
    "amount": lambda v: bool(_AMOUNT.fullmatch(v)),
    "phone_number": lambda v: bool(re.fullmatch(r"[0-9+\-]{1,17}", v)),
    "car_number": lambda v: bool(_CAR_NUMBER.fullmatch(v)),
    "name": lambda v: bool(_NAME.fullmatch(v)),
    "phrase": lambda v: bool(re.fullmatch(r"[\u4e00-\u9fff]{1,5}", v)),
}


def key_type(key: str) -> str:
    """The value type of a template key: its name without trailing digits ("thing2": "thing")."""
    return key.rstrip("0123456789")


def value_is_valid(key: str, value: str) -> bool:
    """Whether a data value fits the limits WeChat sets for the key's type."""
    rule = VALUE_RULES.get(key_type(key))
    return rule is not None and rule(value)


def page_is_valid(page: Any) -> bool:
    """Whether a subscribe-message page is a relative mini-program path."""
    return (
        isinstance(page, str)
        and not page.startswith("/")
        and not _URL_SCHEME.match(page)
        and not any(char.isspace() for char in page)
    )


def first_invalid_data_key(template_keys: tuple[str, ...], data: Any) -> str | None:
    """The first key of a message's data that is unknown, missing or out of limits, if any."""
    entries = data if isinstance(data, dict) else {}
    for key in entries:
        if key not in template_keys:
            return str(key)
    for key in template_keys:
        entry = entries.get(key)
        value = entry.get("value") if isinstance(entry, dict) else None
        if not isinstance(value, str) or not value_is_valid(key, value):
            return key
    return None


