"""Audience benchmark: the push audience engine over 35 million users × 200 tags, against Redis
bitmaps and plain SQL on MariaDB, and its rebuild from MariaDB.

From the repository root: `.venv/bin/python bench/audience.py` (`--help` for options). It

1. generates bench/audience_data.py's 200 tags over `--users` ids straight into roaring bitmaps
   and reports their size and the resident memory they add;
2. times `normalize` (parse + canonical text) and, over `--runs` runs each, `count`, `evaluate`
   and `evaluate` + `sample` of 20 for ten expressions of 1 to 8 clauses;
3. loads the same tags into Redis (`--redis-url`, its db flushed) as bit strings and times the
   expressions as BITOP + BITCOUNT + BITPOS (`--skip-redis` leaves this out);
4. loads the first `--sql-users` users' memberships into MariaDB (`--database-url`, dropped and
   made again), times each expression's plain SQL against the engine on the same users, and
   reads the rows back into bitmaps as the index's rebuild does (`--skip-sql` leaves this out);
5. prints the figures as it goes and writes them to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import resource
import sys
import time
from dataclasses import dataclass
from datetime import date
from typing import Any

from audience_compare import Timing, ms, redis_bench, redis_table, sql_bench, sql_table, timing
from audience_data import EXPRESSIONS, SEED, TARGET_EXPRESSION, generate, to_bitmap
from errors import BenchError, run_script
from machine import CLOCK_TICKS, cpu_busy_percent, cpu_ticks, machine_line
from paths import REPO_DIR, RESULTS_FILE
from pyroaring import BitMap
from results import write_section
from search import resident_mib

from app.push.evaluation import count, evaluate, sample
from app.push.expressions import And, normalize, parse
from app.push.index import IndexView, PatternUnions

FULL_SIZE = 35_000_000
DEFAULT_DATABASE_URL = "mysql+pymysql://root@127.0.0.1:3306/bench_audience?charset=utf8mb4"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
TARGET_P99_MS = 10.0
TARGET_RESIDENT_BYTES = 10**9
TARGET_SPEEDUP = 1000
SAMPLE_SIZE = 20


@dataclass(frozen=True)
class Evaluated:
    """One expression's size and timings in the index."""

    text: str
    clauses: int
    size: int
    normalize_us: float
    count: Timing
    evaluate: Timing
    preview: Timing  # evaluate, then sample of 20: what the console's preview does


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options; the defaults are the documented benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=FULL_SIZE, help="ids 1..N in the index")
    parser.add_argument("--runs", type=int, default=50, help="timed runs per expression")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="its db is FLUSHED")
    parser.add_argument("--skip-redis", action="store_true")
    parser.add_argument("--sql-users", type=int, default=2_000_000,
                        help="the first N users go into MariaDB (default 2,000,000)")
    parser.add_argument("--sql-runs", type=int, default=3, help="timed runs per SQL query")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help="dropped and made again; its name must contain 'bench'")
    parser.add_argument("--buffer-pool-mib", type=int, default=4096,
                        help="raise MariaDB's innodb_buffer_pool_size to this for the run "
                             "(restored after); 0 leaves it alone")
    parser.add_argument("--skip-sql", action="store_true", help="no MariaDB: no SQL, no rebuild")
    parser.add_argument("--no-results", action="store_true", help="do not write RESULTS.md")
    return parser.parse_args(argv)


def release_freed_memory() -> None:
    """Collect, then hand freed heap back to the system, so resident memory is what is held."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # glibc only
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def cpu_mark() -> tuple[int, int, float]:
    """All CPUs' (total, idle) ticks and this process's CPU seconds so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return (*cpu_ticks(), usage.ru_utime + usage.ru_stime)


def others_percent(mark: tuple[int, int, float]) -> float:
    """The share of the machine's CPU that other processes used since `mark`."""
    total, idle, own = cpu_mark()
    capacity_s = (total - mark[0]) / CLOCK_TICKS
    busy_s = capacity_s - (idle - mark[1]) / CLOCK_TICKS
    return 100 * max(0.0, busy_s - (own - mark[2])) / capacity_s if capacity_s else 0.0


# ---------------------------------------------------------------------------------------------
# The index in memory


def build_index(users: int, seed: int) -> tuple[dict[str, BitMap], dict[str, float]]:
    """The generated tags as bitmaps, and what building them took."""
    release_freed_memory()
    before = resident_mib()
    started = time.perf_counter()
    index = {tag: to_bitmap(bits, users + 1) for tag, bits in generate(users, seed)}
    seconds = time.perf_counter() - started
    release_freed_memory()
    stats = [bitmap.get_statistics() for bitmap in index.values()]
    return index, {
        "seconds": seconds, "resident_mib": resident_mib() - before,
        "container_mib": sum(s["n_bytes_array_containers"] + s["n_bytes_run_containers"]
                             + s["n_bytes_bitset_containers"] for s in stats) / 2**20,
        "serialized_mib": sum(len(b.serialize()) for b in index.values()) / 2**20,
        "memberships": sum(len(b) for b in index.values()),
    }


def clauses(text: str) -> int:
    """How many operands the top-level AND has (1 for anything else)."""
    expr = parse(text)
    return len(expr.operands) if isinstance(expr, And) else 1


def time_expressions(view: IndexView, runs: int) -> list[Evaluated]:
    """Each expression's size, and its parse, count, evaluate and preview timed."""
    found = []
    for text, _ in EXPRESSIONS:
        expr = normalize(text)[0]
        size = count(expr, view)
        if size != len(evaluate(expr, view)):
            raise BenchError(f"count and evaluate disagree on {text!r}")
        parsing = timing(lambda text=text: normalize(text), 1000)
        found.append(Evaluated(
            text, clauses(text), size, parsing.p50_ms * 1000,
            timing(lambda expr=expr: count(expr, view), runs),
            timing(lambda expr=expr: evaluate(expr, view), runs),
            timing(lambda expr=expr: sample(evaluate(expr, view), SAMPLE_SIZE), runs)))
        print(f"  {found[-1].preview.p99_ms:7.2f} ms p99 preview, {size:>11,} users: {text}",
              flush=True)
    return found


def engine_table(rows: list[Evaluated]) -> str:
    """The engine's figures, one line per expression."""
    lines = ["| # | clauses | expression | users | normalize µs | count p50 / p99 ms | "
             "evaluate p50 / p99 ms | evaluate + sample 20 p50 / p99 ms |",
             "|---:|---:|---|---:|---:|---:|---:|---:|"]
    for number, r in enumerate(rows, start=1):
        lines.append(f"| {number} | {r.clauses} | `{r.text}` | {r.size:,} | "
                     f"{r.normalize_us:.0f} | {ms(r.count)} | {ms(r.evaluate)} | "
                     f"{ms(r.preview)} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The run and its record


def run(args: argparse.Namespace) -> None:
    """Build, time, compare, report."""
    busy = cpu_busy_percent()
    print(f"generating {args.users:,} users' tags (seed {args.seed}); CPU {busy:.0f}% busy "
          "before", flush=True)
    index, built = build_index(args.users, args.seed)
    tag_count = len(index)
    print(f"{len(index)} tags built in {built['seconds']:.1f} s: {built['memberships']:,} "
          f"memberships; containers {built['container_mib']:,.0f} MiB, serialized "
          f"{built['serialized_mib']:,.0f} MiB; resident +{built['resident_mib']:,.0f} MiB")
    mark = cpu_mark()
    engine = time_expressions(IndexView(index, 0, PatternUnions()), args.runs)
    built["others_percent"] = others_percent(mark)
    print(engine_table(engine))
    print(f"other processes used {built['others_percent']:.0f}% of the machine's CPU meanwhile")
    previews = [r.preview for r in engine]
    on_redis = None if args.skip_redis else redis_bench(args, index, [r.size for r in engine])
    if on_redis:
        print(redis_table(previews, on_redis["rows"]))
    on_sql = None
    if not args.skip_sql:
        users = min(args.sql_users, args.users)
        window = BitMap(range(1, users + 1))
        small = {tag: bitmap & window for tag, bitmap in index.items()}
        del index
        release_freed_memory()
        on_sql = sql_bench(args, small, users)
        print(sql_table([r.clauses for r in engine], on_sql["compared"]))
    body = report(args, busy, built, tag_count, engine, on_redis, on_sql)
    if not args.no_results:
        heading = (f"Audience index, {date.today().isoformat()}, {args.users:,} users"
                   + (f", SQL at {on_sql['users']:,}" if on_sql else "")
                   + ("" if on_redis else ", no Redis"))
        write_section(heading, body)
        print(f"recorded in {RESULTS_FILE.relative_to(REPO_DIR)}")


def verdicts(args: argparse.Namespace, built: dict[str, float], engine: list[Evaluated],
             on_sql: dict[str, Any] | None) -> list[str]:
    """The targets and whether this run met them."""
    at = "" if args.users == FULL_SIZE else f" (measured at {args.users:,} users)"
    five = next(r for r in engine if r.text == TARGET_EXPRESSION)
    worst = max(five.count.p99_ms, five.evaluate.p99_ms, five.preview.p99_ms)
    lines = [
        f"p99 ≤ {TARGET_P99_MS:.0f} ms for the 5-clause expression (#7) at {FULL_SIZE:,} users: "
        f"**{_met(worst <= TARGET_P99_MS)}**{at}: p99 count {five.count.p99_ms:.2f} ms, "
        f"evaluate {five.evaluate.p99_ms:.2f} ms, evaluate + sample {five.preview.p99_ms:.2f} ms",
        f"index ≤ 1 GB resident: **{_met(built['resident_mib'] * 2**20 <= TARGET_RESIDENT_BYTES)}"
        f"**{at}: +{built['resident_mib']:,.0f} MiB resident",
    ]
    if on_sql:
        ups = [sql_ms / t.p50_ms for _, sql_ms, t in on_sql["compared"]]
        lines.append(
            f"≥ {TARGET_SPEEDUP:,}× plain SQL: **{_met(min(ups) >= TARGET_SPEEDUP)}** "
            f"({sum(u >= TARGET_SPEEDUP for u in ups)} of {len(ups)} expressions), from "
            f"{min(ups):,.0f}× (#{ups.index(min(ups)) + 1}) to {max(ups):,.0f}× at "
            f"{on_sql['users']:,} users")
    return lines


def _met(ok: bool) -> str:
    return "met" if ok else "missed"


def report(args: argparse.Namespace, busy: float, built: dict[str, float], tags: int,
           engine: list[Evaluated], on_redis: dict[str, Any] | None,
           on_sql: dict[str, Any] | None) -> str:
    """The body of this run's RESULTS.md section."""
    per_user = built["memberships"] / args.users
    lines = [
        f"- machine: {machine_line()}; {busy:.0f}% of its CPU busy just before",
        f"- command: `.venv/bin/python bench/audience.py --users {args.users} --runs {args.runs}"
        f" --sql-users {args.sql_users}`" + (" --skip-redis" if args.skip_redis else "")
        + (" --skip-sql" if args.skip_sql else ""),
        f"- data: bench/audience_data.py (seed {args.seed}), {tags} tags over {args.users:,} "
        f"users, {built['memberships']:,} memberships ({per_user:.2f} per user), generated as "
        f"bit sets straight into pyroaring bitmaps in {built['seconds']:.0f} s",
        f"- index: {built['container_mib']:,.0f} MiB of containers (`get_statistics`), "
        f"{built['serialized_mib']:,.0f} MiB serialized; the process's VmRSS grew by "
        f"{built['resident_mib']:,.0f} MiB (after `malloc_trim`)",
        "", "Targets:", "", *(f"- {line}" for line in verdicts(args, built, engine, on_sql)),
        "", f"In process, one thread, {args.runs} timed runs per figure after one untimed "
        "(`count`, `evaluate`, `sample(evaluate(…), 20)` on an `IndexView` of the bitmaps; "
        "`normalize` = parse + canonical text, p50 of 1,000); other processes used "
        f"{built['others_percent']:.0f}% of the machine's CPU meanwhile:", "",
        engine_table(engine)]
    if on_redis:
        lines += ["", f"Redis {on_redis['version']} on the same machine: "
                  + ("all" if on_redis["all"] else "only the expressions'")
                  + f" {on_redis['tags']} tags as bit strings of {(args.users + 1) / 8 / 2**20:.2f}"
                  f" MiB (loaded in {on_redis['load_seconds']:.0f} s), used_memory "
                  f"+{on_redis['used_mib']:,.0f} MiB; each expression one pipeline of BITOP "
                  "OR/AND/NOT, BITCOUNT and BITPOS (the first member), counts equal to the "
                  f"engine's; {args.runs} runs:", "",
                  redis_table([r.preview for r in engine], on_redis["rows"])]
    if on_sql:
        load, rebuild = on_sql["load"], on_sql["rebuild"]
        rate = rebuild["rows"] / rebuild["seconds"]
        lines += [
            "", f"Plain SQL on MariaDB (same machine, innodb_buffer_pool_size "
            f"{on_sql['pool_mib']:,} MiB): the first {on_sql['users']:,} users' "
            f"{load['rows']:,} memberships in `user_tags(user_id, tag)`, primary key "
            f"(tag, user_id) and key (user_id, tag), {load['size_mib']:,.0f} MiB (LOAD DATA "
            f"{load['load_seconds']:.0f} s, key {load['index_seconds']:.0f} s); each query "
            "(EXISTS / NOT EXISTS on the indexed table, prefixes as LIKE; bench/audience_data.py"
            f") run once untimed, then the median of {args.sql_runs}; counts equal to the "
            "engine's `count` on the same users:", "",
            sql_table([r.clauses for r in engine], on_sql["compared"]),
            "", f"Rebuild read: {rebuild['rows']:,} rows streamed (PyMySQL SSCursor, "
            f"fetchmany 50,000) into bitmaps with `BitMap.add` per row, as "
            f"`AudienceIndex._rebuild` does, in {rebuild['seconds']:.1f} s: {rate:,.0f} rows/s "
            f"(without SQLAlchemy's rows). At {FULL_SIZE:,} users × {per_user:.2f} memberships "
            f"that is about {FULL_SIZE * per_user / rate / 60:,.0f} min."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return run_script("audience.py", run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
