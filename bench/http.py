"""HTTP load benchmark: the app under gunicorn against a bare Flask app, side by side in one run.

From the repository root: `.venv/bin/python bench/http.py` (`--help` for options). It rebuilds the
`zsb_bench` database on MariaDB and Redis db 14, serves the app and `bench/bare_app.py` with the
same `gunicorn.conf.py` settings, loads each route with wrk (or a small Python generator when wrk
cannot be had) and writes the figures to `bench/RESULTS.md`.
"""

import sys
from pathlib import Path

# This file is named http.py and Python puts its folder first on sys.path, where it would shadow
# the standard library's `http` package for everything imported below.
# ruff: noqa: E402
BENCH_DIR = Path(__file__).resolve().parent
for _entry in [p for p in sys.path if Path(p or ".").resolve() == BENCH_DIR]:
    sys.path.remove(_entry)
sys.path.insert(0, str(BENCH_DIR.parent))  # for app.config's list of secrets

import argparse
import base64
import contextlib
import http.client
import importlib.metadata
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urlsplit

import pymysql
import redis
from sqlalchemy.engine import make_url

# (name, path) of the app routes to load; add hot routes here.
ROUTES: list[tuple[str, str]] = [
    ("healthz", "/healthz"),
    ("themes", "/api/v1/themes"),
    ("home", "/api/v1/home?region=530102"),
    ("hot", "/api/v1/services/hot?region=530102"),
    ("guide", "/api/v1/services/GF00101001"),
    ("search", "/api/v1/search?q=shebaoka"),
]
GENERATED_ITEMS = 5000  # added to the demo catalog, as bench/load_catalog.py makes them
BARE_PATH = "/"

REPO_DIR = BENCH_DIR.parent
VENV_BIN = REPO_DIR / ".venv" / "bin"
WORK_DIR = BENCH_DIR / ".work" / "http"
RESULTS_FILE = BENCH_DIR / "RESULTS.md"
DEFAULT_DATABASE_URL = "mysql+pymysql://root@127.0.0.1:3306/zsb_bench?charset=utf8mb4"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
WRK_THREADS = 2
STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
REQUEST_TIMEOUT_S = 5.0
MAX_REQUESTS_PER_CONNECTION = 1_000_000  # bounds the Python generator's loop
# A run is repeated (a few times at most) when it does not measure the configuration: wrk opens
# all its connections at once and keeps them, and now and then one gunicorn worker accepts every
# one while the other idles; or other processes (a test run) take the CPU meanwhile.
IDLE_WORKER_CPU_SHARE = 0.10
OTHERS_CPU_SHARE = 0.05
MEASURE_ATTEMPTS = 4
SERVICE_PROCESSES = {"mariadbd", "mysqld", "redis-server"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """The benchmark cannot go on; the message says why."""


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


@dataclass(frozen=True)
class Server:
    url: str
    pid: int


@dataclass(frozen=True)
class Result:
    name: str
    path: str
    measurement: Measurement
    worker_cpu_shares: list[float]  # each worker's share of the workers' CPU time, largest first
    others_cpu_share: float  # CPU used by processes not in the benchmark, share of the machine
    try_number: int = 1


@dataclass
class ConnectionTally:
    latencies_s: list[float] = field(default_factory=list)
    non_2xx: int = 0
    socket_errors: int = 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options; the defaults are the documented benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help="its database is DROPPED and rebuilt (name must contain 'bench')")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="its db is FLUSHED")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--max-requests", type=int, default=0,
                        help="gunicorn max_requests; 0 (default) keeps workers for the whole run,"
                             " since wrk's fixed connections pile onto the surviving worker"
                             " after a restart")
    parser.add_argument("--connections", type=int, default=32, help="open connections")
    parser.add_argument("--duration", type=int, default=10, help="seconds measured per route")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per route")
    parser.add_argument("--no-results", action="store_true", help="do not write RESULTS.md")
    return parser.parse_args(argv)


def generated_secrets() -> dict[str, str]:
    """Fresh values for every secret setting of app/config.py, each in the format it takes."""
    from app.config import SETTINGS

    values = {s.name: secrets.token_urlsafe(32) for s in SETTINGS if s.secret}
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    signing_pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    return values | {
        "PERSONAL_DATA_KEYS": "b1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "BLIND_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "DEPARTMENT_KEYS": "bench:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "SIGNING_KEY_PEM": signing_pem,
    }


def bench_environment(database_url: str, redis_url: str) -> dict[str, str]:
    """The production environment for the app, with freshly generated secrets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "GUNICORN_"))}
    return env | generated_secrets() | {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "WARNING",  # the access log would otherwise dominate the cost measured
    }


def recreate_database(database_url: str) -> None:
    """Drop and create the bench database on MariaDB."""
    url = make_url(database_url)
    name, host, port = url.database or "", url.host or "127.0.0.1", url.port or 3306
    if "bench" not in name:
        raise BenchError(f"refusing to drop database {name!r}: its name must contain 'bench'")
    try:
        connection = pymysql.connect(host=host, port=port, user=url.username or "root",
                                     password=url.password or "", connect_timeout=3)
    except pymysql.err.OperationalError as exc:
        raise BenchError(f"cannot connect to MariaDB at {host}:{port}: {exc.args[-1]}") from exc
    with connection, connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 "
                       "COLLATE utf8mb4_unicode_ci")


def flush_redis(redis_url: str) -> None:
    """Empty the bench Redis database."""
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        raise BenchError(f"cannot use Redis at {redis_url}: {exc}") from exc
    finally:
        client.close()


def run_flask(env: dict[str, str], *args: str) -> None:
    """Run one `flask --app app` command, failing with the end of its output."""
    done = subprocess.run([str(VENV_BIN / "flask"), "--app", "app", *args], cwd=REPO_DIR,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        output = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise BenchError(f"`flask {' '.join(args)}` failed; its last lines:\n{output}")


def prepare_data(env: dict[str, str]) -> None:
    """Rebuild the bench database and Redis db, migrate, load the demo and generated catalog.

    Tasks run in process here (no worker runs during the bench), so the search index of the
    final catalog version is built and shared before the servers start.
    """
    flush_redis(env["REDIS_URL"])
    recreate_database(env["DATABASE_URL"])
    eager = {**env, "CELERY_ALWAYS_EAGER": "1"}
    run_flask(eager, "db", "upgrade")
    run_flask(eager, "seed-demo")
    done = subprocess.run([str(VENV_BIN / "python"), str(BENCH_DIR / "load_catalog.py"),
                           "--items", str(GENERATED_ITEMS)], cwd=REPO_DIR, env=eager,
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise BenchError("bench/load_catalog.py failed:\n" + done.stderr[-2000:])


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    """One GET on a fresh connection: status and body."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=REQUEST_TIMEOUT_S)
    try:
        connection.request("GET", parts.path or "/")
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def wait_until_serving(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    """Poll `url` until it answers, the server dies, or the start-up time runs out."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
            raise BenchError(f"gunicorn exited with {process.returncode} on start:\n{log}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            get(url)
            return
        time.sleep(0.2)
    raise BenchError(f"{url} did not answer within {STARTUP_TIMEOUT_S:.0f} s; see {log_path}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Ask gunicorn to stop, then kill its process group if it lingers."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=STOP_TIMEOUT_S)


@contextlib.contextmanager
def gunicorn(app_spec: str, env: dict[str, str], args: argparse.Namespace) -> Iterator[Server]:
    """Serve `app_spec` with gunicorn.conf.py on a free loopback port until the block ends."""
    port = free_port()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    log_path = WORK_DIR / f"{app_spec.replace(':', '.')}.log"
    server_env = env | {
        "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(args.workers),
        "GUNICORN_THREADS": str(args.threads), "GUNICORN_MAX_REQUESTS": str(args.max_requests),
        "GUNICORN_MAX_REQUESTS_JITTER": str(args.max_requests // 10)}
    # No control socket: its default path is shared by every gunicorn of this user.
    command = [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--no-control-socket",
               app_spec]
    with log_path.open("w") as log:
        # Its own session, so a Ctrl-C reaches only us and the finally below stops it in order.
        process = subprocess.Popen(command, cwd=REPO_DIR, env=server_env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_serving(process, f"http://127.0.0.1:{port}/", log_path)
            yield Server(f"http://127.0.0.1:{port}", process.pid)
        finally:
            stop(process)


def check_route(url: str) -> None:
    """Fail early, with the body, when a route does not answer 200 before loading it."""
    status, body = get(url)
    if status != 200:
        raise BenchError(f"{url} answered {status}: {body[:500].decode(errors='replace')}")


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


def find_wrk() -> str | None:
    """wrk's path, installing the Debian package once when it is missing."""
    found = shutil.which("wrk")
    if found or not shutil.which("apt-get"):
        return found
    print("wrk not found: trying `apt-get install -y wrk`", flush=True)
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        if subprocess.run(install, capture_output=True, timeout=300).returncode != 0:
            # A fresh machine has no package lists yet.
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, timeout=300)
            subprocess.run(install, capture_output=True, timeout=300)
    return shutil.which("wrk")


def choose_generator() -> Generator:
    """wrk when it is there or can be installed, else the Python generator."""
    wrk = find_wrk()
    if wrk:
        return wrk_generator(wrk)
    print("wrk unavailable: falling back to the Python generator", flush=True)
    return Generator("Python threads + http.client keep-alive (wrk unavailable)", python_measure)


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


def measure(generator: Generator, server: Server, name: str, path: str,
            args: argparse.Namespace) -> Result:
    """One measured run of a route, with how the CPU was shared meanwhile."""
    before = cpu_sample(server.pid)
    measurement = generator.measure(server.url + path, args.duration, args.connections)
    after = cpu_sample(server.pid)
    worker_used = [s - before.workers_s.get(pid, 0.0) for pid, s in after.workers_s.items()]
    total = sum(worker_used)
    shares = sorted((u / total for u in worker_used), reverse=True) if total > 0 else []
    others_s = (after.machine_busy_s - before.machine_busy_s - total
                - (after.ours_s - before.ours_s))
    capacity_s = (after.at_s - before.at_s) * len(os.sched_getaffinity(0))
    return Result(name, path, measurement, shares, max(0.0, others_s / capacity_s))


def disturbed(result: Result) -> str | None:
    """Why a run does not measure the configuration, if it does not."""
    if result.worker_cpu_shares and min(result.worker_cpu_shares) < IDLE_WORKER_CPU_SHARE:
        return f"a worker did {min(result.worker_cpu_shares):.0%} of the work"
    if result.others_cpu_share > OTHERS_CPU_SHARE:
        return f"other processes used {result.others_cpu_share:.0%} of the CPU"
    return None


def load(generator: Generator, server: Server, name: str, path: str,
         args: argparse.Namespace) -> Result:
    """Warm a route up, then measure it until a run is undisturbed (a few tries at most)."""
    print(f"  {name} ({server.url + path}): {args.warmup} s warm-up, {args.duration} s measured",
          flush=True)
    generator.measure(server.url + path, args.warmup, args.connections)
    tries: list[Result] = []
    for number in range(1, MEASURE_ATTEMPTS + 1):
        tries.append(replace(measure(generator, server, name, path, args), try_number=number))
        reason = disturbed(tries[-1])
        if not reason:
            return tries[-1]
        print(f"    {reason}" + ("; measuring again" if number < MEASURE_ATTEMPTS else ""),
              flush=True)
    # Both disturbances only slow a run down: the fastest run is the least disturbed.
    return max(tries, key=lambda result: result.measurement.requests_per_s)


def format_shares(result: Result) -> str:
    """Worker CPU shares as `55/45` percentages, with the try that gave them when not the first."""
    shares = "/".join(f"{share * 100:.0f}" for share in result.worker_cpu_shares) or "?"
    return shares + (f" (try {result.try_number})" if result.try_number > 1 else "")


def table(results: list[Result], baseline: Result) -> str:
    """A markdown table of the routes and the bare baseline, with requests/s ratios."""
    lines = ["| route | path | requests/s | p50 ms | p99 ms | non-2xx | socket errors "
             "| worker CPU % | others' CPU % | app/bare |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for result in [*results, baseline]:
        m = result.measurement
        ratio = m.requests_per_s / baseline.measurement.requests_per_s
        lines.append(f"| {result.name} | `{result.path}` | {m.requests_per_s:,.0f} | "
                     f"{m.p50_ms:.2f} | {m.p99_ms:.2f} | {m.non_2xx} | {m.socket_errors} | "
                     f"{format_shares(result)} | {result.others_cpu_share * 100:.0f} | "
                     f"{ratio:.2f} |")
    return "\n".join(lines)


def machine() -> str:
    """Cores, CPU model and Python version of this machine."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    return (f"{len(os.sched_getaffinity(0))} cores (nproc), "
            f"{model[1].strip() if model else 'unknown CPU'}, Python {platform.python_version()}")


def report(args: argparse.Namespace, generator: Generator, rows: str,
           doubts: list[str]) -> str:
    """The body of this run's RESULTS.md section."""
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in ("gunicorn", "Flask"))
    return "\n".join([
        f"- machine: {machine()}",
        f"- server: gunicorn.conf.py, {args.workers} workers × {args.threads} threads, "
        f"max_requests {args.max_requests}, LOG_LEVEL=WARNING; {versions}",
        "- data: MariaDB and Redis on the same machine, after `flask seed-demo` and"
        f" {GENERATED_ITEMS:,} generated items with 20,000 recorded uses (bench/load_catalog.py)",
        f"- load: {generator.name}, {args.connections} connections, {args.warmup} s warm-up "
        f"then {args.duration} s per route, one route at a time",
        "",
        rows,
        *(["", *(f"- WARNING: {doubt}" for doubt in doubts)] if doubts else []),
    ])


RESULTS_HEADER = """# Benchmark results

Figures written by the scripts in `bench/`, one section per benchmark, day and settings (a rerun
replaces its section). The load generator shares the machine with the servers: quote the ratios
against the baseline measured in the same run, not the raw numbers.

## How to reproduce

With MariaDB on 127.0.0.1:3306 (root, no password) and Redis on 127.0.0.1:6379, from the
repository root:

    .venv/bin/python bench/http.py        # --help for options

[`README.md`](README.md) says what it does and how to read the columns.
"""


def write_results(heading: str, body: str, path: Path = RESULTS_FILE) -> None:
    """Replace the section with this heading in RESULTS.md, or append it."""
    text = path.read_text() if path.exists() else RESULTS_HEADER
    sections = [s for s in re.split(r"(?m)^(?=## )", text) if s.strip()]
    new = f"## {heading}\n\n{body}\n"
    is_ours = [s.startswith(f"## {heading}\n") for s in sections]
    sections = [new if ours else s for s, ours in zip(sections, is_ours, strict=True)]
    if not any(is_ours):
        sections.append(new)
    path.write_text("\n".join(s.rstrip("\n") + "\n" for s in sections))


def serve_and_load(args: argparse.Namespace, env: dict[str, str],
                   generator: Generator) -> tuple[list[Result], Result]:
    """Serve both apps, load the baseline, then each route."""
    with (gunicorn("wsgi:app", env, args) as app,
          gunicorn("bench.bare_app:app", env, args) as bare):
        for _, path in ROUTES:
            check_route(app.url + path)
        check_route(bare.url + BARE_PATH)
        print(f"loading (gunicorn {args.workers} workers × {args.threads} threads)", flush=True)
        baseline = load(generator, bare, "bare (baseline)", BARE_PATH, args)
        results = [load(generator, app, name, path, args) for name, path in ROUTES]
    return results, baseline


def doubts_about(results: list[Result], baseline: Result) -> list[str]:
    """What makes these figures doubtful."""
    found = [f"{r.name}: disturbed in all {MEASURE_ATTEMPTS} runs; in the fastest, kept, {reason}"
             for r in [*results, baseline] if (reason := disturbed(r))]
    if any(r.measurement.non_2xx or r.measurement.socket_errors for r in [*results, baseline]):
        found.append("some requests failed (non-2xx / socket errors) and requests/s counts them "
                     f"too; server logs are in {WORK_DIR}")
    return found


def run(args: argparse.Namespace) -> None:
    """Prepare the data, serve both apps, load every route and report."""
    env = bench_environment(args.database_url, args.redis_url)
    print("preparing the bench database and Redis db", flush=True)
    prepare_data(env)
    generator = choose_generator()
    print(f"load generator: {generator.name}", flush=True)
    results, baseline = serve_and_load(args, env, generator)
    rows = table(results, baseline)
    print(f"\n{rows}\n")
    doubts = doubts_about(results, baseline)
    for doubt in doubts:
        print(f"WARNING: {doubt}")
    if not args.no_results:
        # One section per day and settings: a rerun the same day replaces its figures.
        heading = (f"HTTP load, {datetime.now():%Y-%m-%d}, "
                   f"{args.workers} workers × {args.threads} threads")
        write_results(heading, report(args, generator, rows, doubts))
        print(f"written to {RESULTS_FILE.relative_to(REPO_DIR)}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 with a message when it cannot."""
    args = parse_args(argv)
    # A plain kill should stop the servers too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        run(args)
    except BenchError as exc:
        print(f"bench/http.py: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; the servers are stopped", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
