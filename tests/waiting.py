"""Waiting for something another thread or process does, with a deadline instead of a guess."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout_seconds: float, what: str) -> T:
    """Poll `condition` until it returns something true, and return that; fail after the
    timeout, naming `what` was awaited."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"waited {timeout_seconds} s in vain for {what}")
        time.sleep(0.02)
