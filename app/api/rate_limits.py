"""Per-client-IP limits on routes that invite guessing or abuse."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import request

from app.api.error_statuses import note_errors
from app.platform.rate_limit import RateLimit, enforce

F = TypeVar("F", bound=Callable[..., Any])


def client_ip() -> str:
    return request.remote_addr or "unknown"


def limit_by_ip(scope: str, limit: int, window_seconds: int) -> Callable[[F], F]:
    """Decorate a view: at most `limit` calls per client IP per window."""
    rule = RateLimit(limit, window_seconds)

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            enforce(scope, client_ip(), rule)
            return view(*args, **kwargs)

        return note_errors(wrapper, 429)  # type: ignore[return-value]

    return decorator
