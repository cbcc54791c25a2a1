"""Cached reads that survive Redis being down: on any Redis failure the loader answers instead.

Callers put whatever makes an answer stale into the key (the catalog puts its version), so
nothing has to be hunted down and deleted when data changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

import redis
from flask import current_app

from app.extensions import redis_store

T = TypeVar("T")


def cached_json(namespace: str, key: str, load: Callable[[], T],
                ttl_seconds: int | None = None) -> T:
    """Answer `load()` from Redis when cached, else compute, store and return it."""
    if not redis_store.available():
        return load()
    full_key = f"cache:{namespace}:{key}"
    try:
        hit = redis_store.client.get(full_key)
        if hit is not None:
            return json.loads(hit)
    except redis.RedisError as exc:
        redis_store.mark_down(exc)
        return load()
    value = load()
    try:
        redis_store.client.set(full_key, json.dumps(value, ensure_ascii=False),
                               ex=ttl_seconds or current_app.config["CACHE_TTL"])
    except redis.RedisError as exc:
        redis_store.mark_down(exc)
    return value
