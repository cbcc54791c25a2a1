"""Only department systems that sign their requests reach the partner routes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request

from app.identity.partner_signing import department_keys, verify_signature

F = TypeVar("F", bound=Callable[..., Any])


def department_signed(view: F) -> F:
    """Decorate a view that only signed department systems may call (401 otherwise)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        headers = request.headers
        g.department_key_id = verify_signature(
            department_keys(), headers.get("X-Department-Key", ""),
            headers.get("X-Timestamp", ""), headers.get("X-Signature", ""),
            request.method, request.path, request.get_data())
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
