"""Fixed-window counters kept in one process: the rate limits' stand-in while Redis is down.

Each process counts on its own, so with N processes (gunicorn workers, hosts) a key may make
up to N times its limit before every one of them refuses it; that is still a limit, where
failing open would be none. The counts start from zero when Redis goes away, so the window
in which it went may allow up to twice the limit on a process.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from flask import Flask, current_app

EXTENSION_KEY = "local_rate_limits"
# A few hundred bytes a key: the bound keeps an attacker who varies the key (many IPs) from
# growing the process without end; past it the oldest windows go first.
MAX_KEYS = 50_000


class LocalWindows:
    """Thread-safe fixed-window counts by key, at most `max_keys` windows at a time."""

    def __init__(self, max_keys: int = MAX_KEYS, clock: Callable[[], float] = time.time
                 ) -> None:
        self.max_keys = max(1, max_keys)
        self.clock = clock
        # (key, window number) -> (count, when the window ends); insertion order is roughly
        # the order windows end in, so expired ones sit at the front.
        self._counts: OrderedDict[tuple[str, int], tuple[int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def count(self, key: str, window_seconds: int) -> tuple[int, float]:
        """Count one hit of `key` in its current window: (hits so far, seconds to its end)."""
        now = self.clock()
        window = int(now // window_seconds)
        ends_at = (window + 1) * window_seconds
        slot = (key, window)
        with self._lock:
            held = self._counts.get(slot)
            if held is None:
                self._make_room(now)
                hits = 1
            else:
                hits = held[0] + 1
            self._counts[slot] = (hits, ends_at)
        return hits, ends_at - now

    def _make_room(self, now: float) -> None:
        while self._counts:
            slot, (_, ends_at) = next(iter(self._counts.items()))
            if ends_at > now and len(self._counts) < self.max_keys:
                return
            del self._counts[slot]

    def __len__(self) -> int:
        return len(self._counts)


def local_windows(app: Flask | None = None) -> LocalWindows:
    """The counters of this process for `app` (the current one by default)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    windows = app.extensions.get(EXTENSION_KEY)
    # setdefault is atomic, so two threads racing here share one set of counters.
    return windows if windows is not None else app.extensions.setdefault(
        EXTENSION_KEY, LocalWindows())
