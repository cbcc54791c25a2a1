"""HTTP load benchmark: the app under gunicorn against a bare Flask app, side by side in one run.

From the repository root: `.venv/bin/python bench/http_load.py` (`--help` for options). It
rebuilds the `zsb_bench` database on MariaDB and Redis db 14, serves the app and
`bench/bare_app.py` with the same `gunicorn.conf.py` settings, loads each route with wrk (or a
small Python generator when wrk is not installed) and writes the figures to `bench/RESULTS.md`.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
from dataclasses import dataclass, replace
from datetime import datetime

from app_setup import add_generated_catalog, bench_environment, rebuild_demo_data
from errors import run_script
from load_generators import Generator, Measurement, choose_generator
from machine import cpu_sample, machine_line
from paths import BENCH_DIR, REPO_DIR, RESULTS_FILE
from results import write_section
from servers import Server, check_route, gunicorn

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

WORK_DIR = BENCH_DIR / ".work" / "http"
DEFAULT_DATABASE_URL = "mysql+pymysql://root@127.0.0.1:3306/zsb_bench?charset=utf8mb4"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
# A run is repeated (a few times at most) when it does not measure the configuration: wrk opens
# all its connections at once and keeps them, and now and then one gunicorn worker accepts every
# one while the other idles; or other processes (a test run) take the CPU meanwhile.
IDLE_WORKER_CPU_SHARE = 0.10
OTHERS_CPU_SHARE = 0.05
MEASURE_ATTEMPTS = 4


@dataclass(frozen=True)
class Result:
    name: str
    path: str
    measurement: Measurement
    worker_cpu_shares: list[float]  # each worker's share of the workers' CPU time, largest first
    others_cpu_share: float  # CPU used by processes not in the benchmark, share of the machine
    try_number: int = 1


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


def prepare_data(env: dict[str, str]) -> None:
    """Rebuild the bench database and Redis db, migrate, load the demo and generated catalog.

    Tasks run in process here (no worker runs during the bench), so the search index of the
    final catalog version is built and shared before the servers start.
    """
    eager = {**env, "CELERY_ALWAYS_EAGER": "1"}
    rebuild_demo_data(eager)
    add_generated_catalog(eager, GENERATED_ITEMS)


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


def report(args: argparse.Namespace, generator: Generator, rows: str,
           doubts: list[str]) -> str:
    """The body of this run's RESULTS.md section."""
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in ("gunicorn", "Flask"))
    return "\n".join([
        f"- machine: {machine_line()}",
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


def serve_and_load(args: argparse.Namespace, env: dict[str, str],
                   generator: Generator) -> tuple[list[Result], Result]:
    """Serve both apps, load the baseline, then each route."""
    settings = {"workers": args.workers, "threads": args.threads,
                "max_requests": args.max_requests, "log_dir": WORK_DIR}
    with (gunicorn("wsgi:app", env, **settings) as app,
          gunicorn("bench.bare_app:app", env, **settings) as bare):
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
        write_section(heading, report(args, generator, rows, doubts))
        print(f"written to {RESULTS_FILE.relative_to(REPO_DIR)}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 1 with a message when it cannot."""
    return run_script("http_load.py", run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
