"""Only department systems that sign their requests reach the partner routes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request

from app.api.error_statuses import note_errors
from app.identity.partner_signing import (
    MAX_SKEW_SECONDS,
    SIGNATURE_PATTERN,
    TIMESTAMP_PATTERN,
    department_keys,
    verify_signature,
)

F = TypeVar("F", bound=Callable[..., Any])
# The headers as the OpenAPI document states them, so a department can sign from it alone.
SIGNATURE_HEADERS = [
    {"in": "header", "name": "X-Department-Key", "required": True,
     "schema": {"type": "string", "minLength": 1},
     "description": "the id of the department's key"},
    {"in": "header", "name": "X-Timestamp", "required": True,
     "schema": {"type": "string", "pattern": f"^{TIMESTAMP_PATTERN.pattern}$"},
     "description": f"Unix time in seconds, within {MAX_SKEW_SECONDS} s of the server's"},
    {"in": "header", "name": "X-Signature", "required": True,
     "schema": {"type": "string", "pattern": f"^{SIGNATURE_PATTERN.pattern}$"},
     "description": "hex HMAC-SHA256, keyed by the department's secret, of"
                    " METHOD\\nPATH\\nTIMESTAMP\\n followed by the raw body"},
]


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

    return note_errors(wrapper, 401,  # type: ignore[return-value]
                       parameters=SIGNATURE_HEADERS)
