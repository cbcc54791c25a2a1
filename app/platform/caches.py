"""Caches of answers: a small per-process one with expiry and a size bound, and a Redis one.

A worker keeps in a `LocalCache`, for a second or a few minutes, what it would otherwise fetch
from Redis on every request; nothing there is shared or authoritative, so losing it costs one
Redis round trip. `cached_json` keeps answers in Redis for every worker and survives Redis
being down: on any Redis failure the loader answers instead. Callers put whatever makes an
answer stale into the key (the catalog puts its version), so nothing has to be hunted down
and deleted when data changes.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app

from app.extensions import redis_store

T = TypeVar("T")


class LocalCache:
    """Thread-safe mapping whose entries live `ttl_seconds` and of which at most `max_entries`
    are kept (the least recently used go first)."""

    def __init__(self, max_entries: int, ttl_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._entries: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any | None:
        """The live value under `key`, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] < self.clock():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Any, value: Any) -> None:
        """Keep `value` for `ttl_seconds`, dropping the least recently used beyond the bound."""
        with self._lock:
            self._entries[key] = (self.clock() + self.ttl_seconds, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()


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
