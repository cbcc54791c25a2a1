"""The error a benchmark stops with when what it needs is missing or fails, and how a script
run from the shell reports it."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import Any


class BenchError(RuntimeError):
    """The benchmark cannot go on; the message says why."""


def run_script(name: str, run: Callable[[Any], None], args: Any) -> int:
    """Run a benchmark as a command: exit status 1 with its message when it cannot go on, 130
    when interrupted. A plain kill stops the servers too, as Ctrl-C does."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        run(args)
    except BenchError as exc:
        print(f"bench/{name}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the servers are stopped", file=sys.stderr)
        return 130
    return 0
