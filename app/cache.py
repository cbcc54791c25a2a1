"""Cached reads that survive Redis being down: on any Redis failure the loader answers instead.

Keys are versioned per namespace (`cache:v{n}:{namespace}:{key}`); bumping a namespace's version
makes every worker miss at once, so an admin edit shows everywhere without hunting keys down.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

import redis
from flask import current_app

from app.extensions import redis_store

T = TypeVar("T")


def _version(namespace: str) -> str:
    return redis_store.client.get(f"cache:version:{namespace}") or "0"


def cached_json(namespace: str, key: str, load: Callable[[], T],
                ttl_seconds: int | None = None) -> T:
    """Answer `load()` from Redis when cached, else compute, store and return it."""
    if not redis_store.available():
        return load()
    ttl_seconds = ttl_seconds or current_app.config["CACHE_TTL"]
    try:
        full_key = f"cache:v{_version(namespace)}:{namespace}:{key}"
        hit = redis_store.client.get(full_key)
        if hit is not None:
            return json.loads(hit)
    except redis.RedisError as exc:
        redis_store.mark_down(exc)
        return load()
    value = load()
    try:
        redis_store.client.set(full_key, json.dumps(value, ensure_ascii=False), ex=ttl_seconds)
    except redis.RedisError as exc:
        redis_store.mark_down(exc)
    return value


def invalidate(namespace: str) -> None:
    """Make every cached entry of a namespace stale, in every worker."""
    try:
        redis_store.client.incr(f"cache:version:{namespace}")
    except redis.RedisError as exc:
        # Entries expire by their TTL; an edit during a Redis outage shows within CACHE_TTL.
        redis_store.mark_down(exc)

