"""What the benchmarks say about the machine they ran on, and how busy it was."""

from __future__ import annotations

import platform
import time
from pathlib import Path


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, or what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def cpu_ticks() -> tuple[int, int]:
    """All CPUs' (total, idle + iowait) ticks from /proc/stat; (0, 0) when it is not there."""
    try:
        first_line = Path("/proc/stat").read_text().split("\n", 1)[0]
    except OSError:
        return 0, 0
    fields = [int(v) for v in first_line.split()[1:]]
    return sum(fields), fields[3] + fields[4]


def cpu_busy_percent(seconds: float = 1.0) -> float:
    """How busy all CPUs were over a short window (0 when /proc/stat is not there)."""
    total_before, idle_before = cpu_ticks()
    time.sleep(seconds)
    total_after, idle_after = cpu_ticks()
    total = total_after - total_before
    return 100.0 * (1 - (idle_after - idle_before) / total) if total else 0.0
