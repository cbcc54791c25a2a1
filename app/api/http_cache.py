"""ETags, Cache-Control and per-worker micro-caching of catalog answers.

Catalog answers depend only on the request and the catalog version, so each worker keeps the
finished JSON of recent ones keyed by both; phones revalidate with the version's ETag and get
a 304. Hot lists and the anonymous home page also change with use, so they are kept for a
couple of seconds only.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, make_response, request

from app.catalog.versions import current_version
from app.platform.caches import LocalCache
from app.platform.local_views import LocalView

F = TypeVar("F", bound=Callable[..., Any])
# Each worker's caches, made on first use and dropped with the other per-process views.
_answers = LocalView(lambda _: LocalCache(4096, 300.0))
_short_lived = LocalView(lambda _: LocalCache(1024, 2.0))


def catalog_etag(version: int) -> str:
    """The (weak) ETag value of this request's answer: the catalog version and the request."""
    digest = hashlib.blake2s(request.full_path.encode(), digest_size=8).hexdigest()
    return f"c{version}-{digest}"


def _replay(body: bytes) -> Response:
    return Response(body, status=200, mimetype="application/json")


def _remember(cache: LocalCache, key: Any, response: Response) -> Response:
    if response.status_code == 200 and not response.direct_passthrough:
        cache.put(key, response.get_data())
    return response


def versioned(view: F) -> F:
    """Answer 304 when the client holds this catalog version's answer; else from the worker's
    cache of this version's answers; tag every answer.

    `no-cache` lets phones keep the body but makes them ask each time, so an edit shows at
    once, for the price of a 304.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        version = current_version()
        etag = catalog_etag(version)
        key = (version, request.full_path)
        if request.if_none_match.contains_weak(etag):
            response = Response(status=304)
        elif (body := _answers.get().get(key)) is not None:
            response = _replay(body)
        else:
            response = _remember(_answers.get(), key, make_response(view(*args, **kwargs)))
        if response.status_code in (200, 304):
            response.set_etag(etag, weak=True)
            response.headers["Cache-Control"] = "public, no-cache"
        return response

    return wrapper  # type: ignore[return-value]


def short_lived(seconds: int, private: bool = False) -> Callable[[F], F]:
    """For answers that change with use (hot lists, the home page): anonymous ones are kept
    by the worker for two seconds; personal ones never."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            shared = "Authorization" not in request.headers
            key = request.full_path
            if shared and (body := _short_lived.get().get(key)) is not None:
                response = _replay(body)
            else:
                response = make_response(view(*args, **kwargs))
                if shared:
                    _remember(_short_lived.get(), key, response)
            if response.status_code == 200:
                scope = "private" if private else "public"
                response.headers["Cache-Control"] = f"{scope}, max-age={seconds}"
            return response

        return wrapper  # type: ignore[return-value]

    return decorator
