"""A small per-process cache with expiry and a size bound (micro-caching of hot answers).

Each worker keeps, for a second or two, what it would otherwise fetch from Redis on every
request. Nothing here is shared or authoritative: losing it costs one Redis round trip.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any


class LocalCache:
    """Thread-safe mapping whose entries live `ttl_seconds` and of which at most `max_entries`
    are kept (the least recently used go first)."""

    def __init__(self, max_entries: int, ttl_seconds: float) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._entries: OrderedDict[Any, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] < time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + self.ttl_seconds, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
