"""What the benchmarks say about the machine they ran on, and how busy it was."""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import time
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Processes whose CPU counts as the benchmark's own, not as a disturbance.
SERVICE_PROCESSES = {"mariadbd", "mysqld", "redis-server"}


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, or what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_line() -> str:
    """Cores, CPU model and Python version, as each RESULTS.md section's `machine:` line says."""
    return (f"{len(os.sched_getaffinity(0))} cores (nproc), {cpu_model()}, "
            f"Python {platform.python_version()}")


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


@dataclass(frozen=True)
class CpuSample:
    at_s: float
    machine_busy_s: float  # user + nice + system time of all CPUs
    workers_s: dict[int, float]  # by pid, the children of one gunicorn master
    ours_s: float  # MariaDB, Redis, this process and its finished children (wrk)


def _stat_ticks(text: str) -> tuple[str, list[int]]:
    """A /proc/<pid>/stat line's command name and numeric fields from field 3 on."""
    head, _, rest = text.rpartition(")")
    return head.partition("(")[2], [int(f) if f.lstrip("-").isdigit() else 0 for f in rest.split()]


def cpu_sample(master_pid: int) -> CpuSample:
    """How much CPU the machine, the workers and the rest of the benchmark have used so far."""
    user, nice, system = (int(n) for n in Path("/proc/stat").read_text().split()[1:4])
    workers: dict[int, float] = {}
    services_s = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            name, fields = _stat_ticks(stat.read_text())
            used_s = (fields[11] + fields[12]) / CLOCK_TICKS  # utime + stime, proc(5)
            if fields[1] == master_pid:
                workers[int(stat.parent.name)] = used_s
            elif name in SERVICE_PROCESSES:
                services_s += used_s
    own = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    own_s = sum(usage.ru_utime + usage.ru_stime for usage in own)
    return CpuSample(time.monotonic(), (user + nice + system) / CLOCK_TICKS, workers,
                     services_s + own_s)
