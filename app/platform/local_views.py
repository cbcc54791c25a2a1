"""Per-process views of shared data: built once per version (or per age), kept per app.

A worker keeps, for each view, one value beside the stamp it was built for (a catalog
version, say) and when it was built. A caller asking for another stamp, a value older than
the view allows, a refresh or a reset makes the view build again, under a lock so that the
threads of one worker build each value once. Nothing here is authoritative: losing a view
costs one rebuild, which is what `reset_local_views` does to all of them at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import Flask, current_app

V = TypeVar("V")
EXTENSION_KEY = "local_views"


@dataclass(frozen=True)
class _Held(Generic[V]):
    stamp: Hashable
    value: V
    built_at: float


class _Slot:
    """One view's value in one app, and the lock its builders take."""

    __slots__ = ("held", "lock")

    def __init__(self) -> None:
        self.held: _Held[Any] | None = None
        self.lock = threading.Lock()


def _slots(app: Flask) -> dict[LocalView[Any], _Slot]:
    slots = app.extensions.get(EXTENSION_KEY)  # hot path: no new dict on every read
    return slots if slots is not None else app.extensions.setdefault(EXTENSION_KEY, {})


class LocalView(Generic[V]):
    """A value each process builds for a stamp and keeps until it is asked for another stamp,
    grows older than `max_age_seconds`, or is cleared.

    `build(stamp)` makes the value. With `shared`, the view first takes a copy another process
    built (`shared(stamp)` returns None when there is none). With `claim`, a process that holds
    a previous value builds only if `claim(stamp)` is true; otherwise another process is
    building that stamp, and the previous value is served until a copy is shared.
    """

    def __init__(self, build: Callable[[Any], V], *, max_age_seconds: float | None = None,
                 shared: Callable[[Any], V | None] | None = None,
                 claim: Callable[[Any], bool] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.build = build
        self.max_age_seconds = max_age_seconds
        self.shared = shared
        self.claim = claim
        self.clock = clock

    def _slot(self) -> _Slot:
        slots = _slots(current_app._get_current_object())  # type: ignore[attr-defined]
        slot = slots.get(self)
        # setdefault is atomic, so two threads racing here end up with the same slot.
        return slot if slot is not None else slots.setdefault(self, _Slot())

    def _fresh(self, held: _Held[V] | None, stamp: Hashable) -> bool:
        return (held is not None and held.stamp == stamp
                and (self.max_age_seconds is None
                     or self.clock() - held.built_at < self.max_age_seconds))

    def get(self, stamp: Hashable = None, *, refresh: bool = False) -> V:
        """The value for `stamp`, built by this process once per stamp (and per max age);
        `refresh` builds it again now."""
        slot = self._slot()
        held = slot.held
        if not refresh and self._fresh(held, stamp):
            return held.value  # type: ignore[union-attr]
        with slot.lock:
            held = slot.held
            # Another thread may have built it while this one waited for the lock.
            if refresh or not self._fresh(held, stamp):
                value = self.shared(stamp) if self.shared is not None else None
                if value is None:
                    if (held is not None and self.claim is not None
                            and not self.claim(stamp)):
                        return held.value  # kept as it was: the next call looks again
                    value = self.build(stamp)
                held = slot.held = _Held(stamp, value, self.clock())
        return held.value

    def clear(self) -> None:
        """Forget this process's value in the current app; the next caller builds it."""
        slot = self._slot()
        with slot.lock:
            slot.held = None


def local_state(app: Flask) -> dict[str, Any]:
    """Other per-process state derived from shared data (an index), forgotten with the views."""
    return app.extensions.setdefault("local_state", {})


def reset_local_views(app: Flask) -> None:
    """Forget every view `app` holds in this process (tests, after emptying the database)."""
    local_state(app).clear()
    for slot in list(_slots(app).values()):
        with slot.lock:
            slot.held = None
