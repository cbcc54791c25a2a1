"""JSON request bodies, read within limits: nesting, the size of numbers, text that is Unicode.

Python's json module recurses once per level (a body nested a thousand deep raises
RecursionError), fails with ValueError on an integer longer than the int-string limit (4,300
digits), reads NaN and Infinity, and keeps lone surrogates ("\\ud800") that neither a database
nor an answer can encode. Every body is read here (`ApiRequest.get_json`), so none of that
reaches a schema or the domain: what is not JSON answers 400, a value the API cannot hold 422,
naming where it is (`holder.id_number`, `items.0`).
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32
# Digits of the largest int64 (19) and a sign: anything longer is out of range, and is not
# turned into an int at all (that alone costs time quadratic in its length).
MAX_INTEGER_CHARACTERS = 20
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
BODY = "body"


class BodyRefused(ValueError):
    """The body cannot be taken: `status` 400 (not JSON) or 422 (a value), `field` where."""

    def __init__(self, status: int, message: str, field: str = BODY) -> None:
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


class _Refused:
    """Stands where the parser met a value the API cannot take, until its place is known."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


def _integer(text: str) -> int | _Refused:
    if len(text) > MAX_INTEGER_CHARACTERS:
        return _Refused("整数超出范围")
    number = int(text)
    return number if INT64_MIN <= number <= INT64_MAX else _Refused("整数超出范围")


def _constant(name: str) -> Any:
    raise BodyRefused(400, f"{name} 不是 JSON 数值")


def loads(data: bytes | str) -> Any:
    """The value of a JSON body; BodyRefused saying why it cannot be taken."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise BodyRefused(400, "请求体不是有效的 UTF-8 文本") from None
    try:
        value = json.loads(text, parse_int=_integer, parse_constant=_constant)
    except RecursionError:
        raise BodyRefused(400, f"JSON 嵌套超过 {MAX_DEPTH} 层") from None
    except json.JSONDecodeError as exc:
        raise BodyRefused(400, f"请求体不是有效的 JSON（第 {exc.pos + 1} 个字符）") from None
    _check(value)
    return value


def _is_unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _shown(key: str) -> str:
    """A key as an answer may name it (a lone surrogate written as its escape)."""
    return key.encode("utf-8", "backslashreplace").decode("utf-8")


def _scalar_refusal(value: Any) -> str | None:
    """Why a value that is not an array or object cannot be taken, if it cannot."""
    kind = type(value)
    if kind is str:
        return None if _is_unicode(value) else "含有无效的 Unicode 字符（孤立的代理项）"
    if kind is float:
        return None if math.isfinite(value) else "数值超出范围"  # 1e999 reads as inf
    return value.message if kind is _Refused else None


def _check(value: Any) -> None:
    """Refuse nesting deeper than MAX_DEPTH, and name the first value that cannot be taken."""
    if type(value) not in (dict, list):
        reason = _scalar_refusal(value)
        if reason:
            raise BodyRefused(422, reason)
        return
    # Only containers wait here: scalars, most of a body, are looked at where they are met.
    pending: list[tuple[dict | list, str, int]] = [(value, "", 0)]
    while pending:
        item, path, depth = pending.pop()
        if depth == MAX_DEPTH:
            raise BodyRefused(400, f"JSON 嵌套超过 {MAX_DEPTH} 层", path or BODY)
        for key, inner in item.items() if type(item) is dict else enumerate(item):
            kind = type(inner)
            if type(key) is str and not key.isascii() and not _is_unicode(key):
                where = _shown(f"{path}.{key}" if path else key)
                raise BodyRefused(422, "字段名含有无效字符", where)
            if kind is dict or kind is list:
                pending.append((inner, f"{path}.{key}" if path else str(key), depth + 1))
            elif (kind is str and inner.isascii()) or kind is int or kind is bool:
                continue  # the common case, decided without a call
            elif reason := _scalar_refusal(inner):
                raise BodyRefused(422, reason, f"{path}.{key}" if path else str(key))
