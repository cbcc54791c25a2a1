"""Load generators: wrk when it is installed, else a slower Python one; both give the same figures.

Each measures one URL for a number of seconds over a number of keep-alive connections and
returns requests/s, p50 and p99 latency and the failed requests.
"""

from __future__ import annotations

import http.client
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from errors import BenchError

WRK_THREADS = 2
REQUEST_TIMEOUT_S = 5.0
MAX_REQUESTS_PER_CONNECTION = 1_000_000  # bounds the Python generator's loop


@dataclass(frozen=True)
class Measurement:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int


@dataclass(frozen=True)
class Generator:
    name: str
    measure: Callable[[str, int, int], Measurement]  # (url, duration_s, connections)


@dataclass
class ConnectionTally:
    latencies_s: list[float] = field(default_factory=list)
    non_2xx: int = 0
    socket_errors: int = 0


_TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _wrk_ms(output: str, percentile: int) -> float:
    match = re.search(rf"^\s+{percentile}(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M)
    if not match:
        raise BenchError(f"no {percentile}% latency in wrk's output:\n{output}")
    return float(match[1]) * _TIME_UNITS_MS[match[2]]


def parse_wrk(output: str) -> Measurement:
    """Requests/s, p50, p99 and the error counts from `wrk --latency` output."""
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    if not rate:
        raise BenchError(f"cannot read wrk's output:\n{output}")
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                        output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return Measurement(
        requests_per_s=float(rate[1]), p50_ms=_wrk_ms(output, 50), p99_ms=_wrk_ms(output, 99),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=sum(int(n) for n in sockets.groups()) if sockets else 0)


def wrk_generator(wrk: str) -> Generator:
    """Measure with wrk, 2 threads, `--latency`."""
    version = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
    name = (version.stdout + version.stderr).split("[")[0].strip() or "wrk"

    def measure(url: str, duration_s: int, connections: int) -> Measurement:
        command = [wrk, f"-t{min(WRK_THREADS, connections)}", f"-c{connections}",
                   f"-d{duration_s}s", "--timeout", f"{REQUEST_TIMEOUT_S:.0f}s", "--latency", url]
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=duration_s + 30, check=False)
        if done.returncode != 0:
            raise BenchError(f"wrk failed on {url}:\n{done.stdout}{done.stderr}")
        return parse_wrk(done.stdout)

    return Generator(f"{name}, {WRK_THREADS} threads", measure)


def _hammer(url: str, deadline: float, tally: ConnectionTally) -> None:
    """Send GETs on one keep-alive connection until the deadline."""
    parts = urlsplit(url)
    connection: http.client.HTTPConnection | None = None
    for _ in range(MAX_REQUESTS_PER_CONNECTION):
        if time.monotonic() >= deadline:
            break
        connection = connection or http.client.HTTPConnection(
            parts.hostname, parts.port, timeout=REQUEST_TIMEOUT_S)
        started = time.perf_counter()
        try:
            connection.request("GET", parts.path or "/")
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            tally.socket_errors += 1
            connection.close()
            connection = None
            continue
        tally.latencies_s.append(time.perf_counter() - started)
        tally.non_2xx += int(response.status > 399)  # what wrk counts as "Non-2xx or 3xx"
        if response.will_close:
            connection.close()
            connection = None
    if connection is not None:
        connection.close()


def python_measure(url: str, duration_s: int, connections: int) -> Measurement:
    """Measure with one thread per keep-alive connection (slower than wrk: the GIL)."""
    tallies = [ConnectionTally() for _ in range(connections)]
    started = time.monotonic()
    threads = [threading.Thread(target=_hammer, args=(url, started + duration_s, t), daemon=True)
               for t in tallies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration_s + 2 * REQUEST_TIMEOUT_S)
    elapsed_s = time.monotonic() - started
    latencies = sorted(s for t in tallies for s in t.latencies_s)
    if not latencies:
        raise BenchError(f"no request to {url} succeeded")

    def percentile_ms(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return Measurement(
        requests_per_s=len(latencies) / elapsed_s, p50_ms=percentile_ms(0.50),
        p99_ms=percentile_ms(0.99), non_2xx=sum(t.non_2xx for t in tallies),
        socket_errors=sum(t.socket_errors for t in tallies))


def choose_generator() -> Generator:
    """wrk when it is on the PATH, else the Python generator."""
    wrk = shutil.which("wrk")
    if wrk:
        return wrk_generator(wrk)
    print("wrk not found (see bench/README.md): falling back to the Python generator", flush=True)
    return Generator("Python threads + http.client keep-alive (wrk unavailable)", python_measure)
