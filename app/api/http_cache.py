"""ETag and Cache-Control for catalog answers, so phones revalidate cheaply (304)."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, make_response, request

from app.catalog.versions import current_version

F = TypeVar("F", bound=Callable[..., Any])


def catalog_etag() -> str:
    """The (weak) ETag value of this request's answer: the catalog version and the request."""
    digest = hashlib.blake2s(request.full_path.encode(), digest_size=8).hexdigest()
    return f"c{current_version()}-{digest}"


def versioned(view: F) -> F:
    """Answer 304 when the client holds this catalog version's answer; tag fresh answers.

    `no-cache` lets phones keep the body but makes them ask again each time, so an admin's
    edit is seen at once, for the price of a 304.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        etag = catalog_etag()
        if request.if_none_match.contains_weak(etag):
            response = Response(status=304)
        else:
            response = make_response(view(*args, **kwargs))
        if response.status_code in (200, 304):
            response.set_etag(etag, weak=True)
            response.headers["Cache-Control"] = "public, no-cache"
        return response

    return wrapper  # type: ignore[return-value]


def short_lived(seconds: int, private: bool = False) -> Callable[[F], F]:
    """For answers that change without an edit (hot lists, the home page)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            response = make_response(view(*args, **kwargs))
            if response.status_code == 200:
                scope = "private" if private else "public"
                response.headers["Cache-Control"] = f"{scope}, max-age={seconds}"
            return response

        return wrapper  # type: ignore[return-value]

    return decorator
