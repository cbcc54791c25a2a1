"""Display masks for personal data: same length as the value, hidden characters shown as '*'."""

from __future__ import annotations

_NAME_SEPARATORS = frozenset("·•・‧ ")


def _mask(value: str, head: int, tail: int, min_hidden: int) -> str:
    # Shorter values than usual give up the tail last and the head first, so that at least
    # `min_hidden` characters are always hidden.
    length = len(value)
    revealable = max(0, length - min_hidden)
    tail = min(tail, revealable)
    head = min(head, revealable - tail)
    return value[:head] + "*" * (length - head - tail) + value[length - tail :]


def mask_id_number(value: str) -> str:
    """Mask an ID number to its first 6 and last 4 characters: 530102********1234."""
    return _mask(value.strip(), head=6, tail=4, min_hidden=8)


def mask_phone(value: str) -> str:
    """Mask a mobile number to its first 3 and last 4 digits: 138****5678."""
    return _mask(value.strip(), head=3, tail=4, min_hidden=4)


def mask_cert_number(value: str) -> str:
    """Mask a certificate number to its first 2 and last 4 (6 or fewer characters: last 2)."""
    number = value.strip()
    if len(number) > 6:
        return _mask(number, head=2, tail=4, min_hidden=1)
    # At most half of a short number is shown, so 1-3 characters never come back whole.
    return _mask(number, head=0, tail=2, min_hidden=(len(number) + 1) // 2)


def mask_name(value: str) -> str:
    """Mask a name to its first character: 张*, 欧***, 阿**·***; separators stay visible."""
    name = value.strip()
    if len(name) <= 1:
        return "*" * len(name)  # a one-character name would otherwise be shown whole
    return name[0] + "".join(char if char in _NAME_SEPARATORS else "*" for char in name[1:])
