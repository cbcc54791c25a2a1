"""A circuit breaker in front of WeChat, one per process: stop waiting on a server that fails.

Closed, calls go through. After `failure_threshold` failures in a row (timeouts, refused
connections, 5xx, "system busy", answers that are not WeChat's) it opens: calls fail at once
with `CircuitOpen`, so a WeChat outage costs each login milliseconds instead of a worker thread
held for the whole retry budget. After `cool_down_seconds` it lets one trial call through
(half-open): success closes it, failure opens it for another cool-down. Each process learns
on its own, as gunicorn workers share no memory; N workers send at most N trials per cool-down.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from app.wechat.errors import WeChatUnavailable

log = logging.getLogger(__name__)

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitOpen(WeChatUnavailable):
    """WeChat failed too often lately; no call was made. Try again after `retry_after_seconds`."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"circuit open: WeChat not called, next trial in {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds

    def __reduce__(self) -> tuple[type[CircuitOpen], tuple[int]]:
        return (type(self), (self.retry_after_seconds,))  # survives Celery's pickling


class CircuitBreaker:
    """Counts consecutive failures of calls to one server and refuses calls while it is open."""

    def __init__(self, failure_threshold: int = 5, cool_down_seconds: float = 30.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.failure_threshold = max(1, failure_threshold)
        self.cool_down_seconds = cool_down_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_started_at: float | None = None

    @property
    def state(self) -> str:
        """`closed`, `open` or `half_open` (a trial call is allowed or under way)."""
        with self._lock:
            if self._opened_at is None:
                return CLOSED
            return HALF_OPEN if self._cooled_down() else OPEN

    def before_call(self) -> None:
        """Let a call through, or raise `CircuitOpen` while the circuit is open."""
        with self._lock:
            if self._opened_at is None:
                return
            now = self.clock()
            trial_running = (self._trial_started_at is not None
                             and now - self._trial_started_at < self.cool_down_seconds)
            if self._cooled_down() and not trial_running:
                # One trial per cool-down; one that never reported back (its thread died)
                # stops blocking the next after a cool-down of its own.
                self._trial_started_at = now
                log.info("wechat circuit half-open: one trial call")
                return
            waited = now - (self._trial_started_at or self._opened_at)
            raise CircuitOpen(max(1, math.ceil(self.cool_down_seconds - waited)))

    def succeeded(self) -> None:
        """WeChat answered (any WeChat answer, errcodes included): close the circuit."""
        with self._lock:
            if self._opened_at is not None:
                log.warning("wechat circuit closed: WeChat answers again")
            self._failures, self._opened_at, self._trial_started_at = 0, None, None

    def failed(self) -> None:
        """WeChat did not answer usefully: count it; open, or open again after a failed trial."""
        with self._lock:
            self._failures += 1
            trial_failed = self._trial_started_at is not None
            if trial_failed or (self._opened_at is None
                                and self._failures >= self.failure_threshold):
                log.warning("wechat circuit open after %d failures: calls fail at once for "
                            "%.0f s", self._failures, self.cool_down_seconds)
                self._opened_at, self._trial_started_at = self.clock(), None

    def _cooled_down(self) -> bool:
        return (self._opened_at is not None
                and self.clock() - self._opened_at >= self.cool_down_seconds)
