"""The error a benchmark stops with when what it needs is missing or fails."""


class BenchError(RuntimeError):
    """The benchmark cannot go on; the message says why."""
