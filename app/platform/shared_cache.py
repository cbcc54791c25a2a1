"""Cached reads that survive Redis being down: on any Redis failure the loader answers instead.

Callers put whatever makes an answer stale into the key (the catalog puts its version), so
nothing has to be hunted down and deleted when data changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

from flask import current_app

from app.extensions import redis_store

T = TypeVar("T")


def cached_json(namespace: str, key: str, load: Callable[[], T],
                ttl_seconds: int | None = None) -> T:
    """Answer `load()` from Redis when cached, else compute, store and return it."""
    full_key = f"cache:{namespace}:{key}"
    hit = redis_store.attempt(lambda r: r.get(full_key), None)
    if hit is not None:
        return json.loads(hit)
    value = load()
    text = json.dumps(value, ensure_ascii=False)
    ttl = ttl_seconds or current_app.config["CACHE_TTL"]
    redis_store.attempt(lambda r: r.set(full_key, text, ex=ttl), None)
    return value
