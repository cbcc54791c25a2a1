"""What bench/audience.py measures the push audience engine against: the same tags as Redis
bit strings combined with BITOP, and as rows of a `user_tags` table on MariaDB queried with
plain SQL; and the rebuild's read of those rows back into bitmaps.

Redis gets one string per tag, bit u for user u (Redis counts bits from the top of each byte),
made from the roaring bitmap container by container through its portable serialization. MariaDB
gets the rows by LOAD DATA LOCAL INFILE in primary-key order, its (user_id, tag) key added after.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import struct
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import redis
from app_setup import recreate_database
from audience_data import ARRAY_LIMIT, CHUNK_BYTES, EXPRESSIONS, PORTABLE_RUNS
from cases import buffer_pool, connect, scalar
from errors import BenchError
from paths import BENCH_DIR
from pyroaring import BitMap
from sqlalchemy.engine import URL, make_url

from app.push.evaluation import count
from app.push.expressions import And, Expr, Not, Tag, covers, normalize, parse, simplify
from app.push.index import UNIVERSE_TAG, IndexView, PatternUnions

WORK_DIR = BENCH_DIR / ".work" / "audience"
REDIS_BUDGET_BYTES = 2 * 2**30  # past this, only the tags the expressions use are loaded
ROWS_PER_FILE = 2_000_000
# The same byte with its bits in the other order: Redis numbers bits from the top of a byte.
REVERSED_BITS = bytes(int(f"{n:08b}"[::-1], 2) for n in range(256))


@dataclass(frozen=True)
class Timing:
    """Percentiles of one operation's latency."""

    p50_ms: float
    p99_ms: float


def timing(call: Callable[[], Any], runs: int) -> Timing:
    """p50 and p99 in ms of `runs` calls, after one untimed call; no collection pauses."""
    call()
    values = []
    gc.disable()
    try:
        for _ in range(runs):
            begun = time.perf_counter_ns()
            call()
            values.append((time.perf_counter_ns() - begun) / 1e6)
    finally:
        gc.enable()
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return Timing(cuts[49], cuts[98])


def ms(t: Timing) -> str:
    return f"{t.p50_ms:.2f} / {t.p99_ms:.2f}"


def to_redis_bytes(bitmap: BitMap, width: int) -> bytes:
    """A roaring bitmap as a Redis bit string of `width` bits (bit u is user u, counted from
    the top bit of each byte), read container by container from its portable serialization."""
    data = memoryview(bitmap.serialize())
    out = bytearray(-(-((width + 7) // 8) // CHUNK_BYTES) * CHUNK_BYTES)
    cookie = struct.unpack_from("<I", data)[0]
    if cookie & 0xFFFF == PORTABLE_RUNS:
        containers, position = (cookie >> 16) + 1, 4
        runs = bytes(data[position:position + (containers + 7) // 8])
        position += len(runs)
        header = _u16(data, position, 2 * containers)
        # Offsets follow the keys only from 4 containers on.
        position += 4 * containers + (4 * containers if containers >= 4 else 0)
    else:
        containers = struct.unpack_from("<I", data, 4)[0]
        runs = bytes((containers + 7) // 8)
        header = _u16(data, 8, 2 * containers)
        position = 8 + 8 * containers
    for index in range(containers):
        base, cardinality = header[2 * index] * CHUNK_BYTES, header[2 * index + 1] + 1
        if runs[index // 8] >> (index % 8) & 1:
            pairs = struct.unpack_from("<H", data, position)[0]
            spans = _u16(data, position + 2, 2 * pairs)
            position += 2 + 4 * pairs
            for start, extra in zip(spans[::2], spans[1::2], strict=True):
                _set_span(out, base * 8 + start, base * 8 + start + extra + 1)
        elif cardinality > ARRAY_LIMIT:
            out[base:base + CHUNK_BYTES] = data[position:position + CHUNK_BYTES]
            position += CHUNK_BYTES
        else:
            for value in _u16(data, position, cardinality):
                out[base + (value >> 3)] |= 1 << (value & 7)
            position += 2 * cardinality
    del out[(width + 7) // 8:]
    return out.translate(REVERSED_BITS)


def _u16(data: memoryview, start: int, how_many: int) -> array:
    """`how_many` little-endian 16-bit numbers from `start` (array() of a memoryview would read
    it byte by byte)."""
    numbers = array("H")
    numbers.frombytes(data[start:start + 2 * how_many])
    return numbers


def _set_span(out: bytearray, start: int, stop: int) -> None:
    """Set bits start..stop-1 (least significant first within a byte)."""
    first, last = (start + 7) // 8, stop // 8
    if first >= last:
        for bit in range(start, stop):
            out[bit >> 3] |= 1 << (bit & 7)
        return
    out[first:last] = b"\xff" * (last - first)
    for bit in (*range(start, first * 8), *range(last * 8, stop)):
        out[bit >> 3] |= 1 << (bit & 7)


# ---------------------------------------------------------------------------------------------
# Redis bitmaps


class BitopPlan:
    """An expression as BITOP commands over one bit string per tag (`tag:<name>`)."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.commands: list[tuple[str, ...]] = []

    def result(self, expr: Expr) -> str:
        key, bounded = self.key(simplify(expr))
        # BITOP NOT also sets the bits past the last user: the universe cuts them off.
        return key if bounded else self.op("AND", [key, f"tag:{UNIVERSE_TAG}"])

    def key(self, expr: Expr) -> tuple[str, bool]:
        """The key holding the expression's bits, and whether they lie within the universe."""
        if isinstance(expr, Tag):
            keys = [f"tag:{t}" for t in self.names if covers(expr.pattern, t)]
            return (keys[0] if len(keys) == 1 else self.op("OR", keys or ["tag:"])), True
        if isinstance(expr, Not):
            return self.op("NOT", [self.key(expr.operand)[0]]), False
        parts = [self.key(operand) for operand in expr.operands]
        is_and = isinstance(expr, And)
        bounded = any(b for _, b in parts) if is_and else all(b for _, b in parts)
        return self.op("AND" if is_and else "OR", [k for k, _ in parts]), bounded

    def op(self, operation: str, keys: list[str]) -> str:
        destination = f"audience:step:{len(self.commands)}"
        self.commands.append(("BITOP", operation, destination, *keys))
        return destination


def patterns_of(expr: Expr) -> list[str]:
    """Every tag pattern the expression names, under NOT or not."""
    if isinstance(expr, Tag):
        return [expr.pattern]
    if isinstance(expr, Not):
        return patterns_of(expr.operand)
    return [p for operand in expr.operands for p in patterns_of(operand)]


def redis_bench(args: argparse.Namespace, index: dict[str, BitMap],
                sizes: list[int]) -> dict[str, Any]:
    """Load the tags as bit strings and time every expression, checking its count against the
    engine's (`sizes`); Redis's memory and the timings."""
    client = redis.Redis.from_url(args.redis_url, socket_connect_timeout=3, socket_timeout=120)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        raise BenchError(f"cannot use Redis at {args.redis_url}: {exc}") from exc
    width = args.users + 1
    planned = len(index) * ((width + 7) // 8)
    used = {UNIVERSE_TAG} | {t for text, _ in EXPRESSIONS for p in patterns_of(parse(text))
                             for t in index if covers(p, t)}
    names = list(index) if planned <= REDIS_BUDGET_BYTES else sorted(used)
    before = int(client.info("memory")["used_memory"])
    started = time.perf_counter()
    for tag in names:
        client.set(f"tag:{tag}", to_redis_bytes(index[tag], width))
        if client.bitcount(f"tag:{tag}") != len(index[tag]):
            raise BenchError(f"Redis holds another {tag} than the index")
    load_seconds = time.perf_counter() - started
    memory = client.info("memory")
    figures: dict[str, Any] = {
        "tags": len(names), "all": len(names) == len(index), "load_seconds": load_seconds,
        "used_mib": (int(memory["used_memory"]) - before) / 2**20,
        "version": client.info("server")["redis_version"], "rows": []}
    print(f"Redis: {len(names)} tags as bit strings of {(width + 7) // 8 / 2**20:.2f} MiB in "
          f"{load_seconds:.1f} s; used_memory +{figures['used_mib']:,.0f} MiB", flush=True)
    for (text, _), size in zip(EXPRESSIONS, sizes, strict=True):
        plan = BitopPlan(names)
        result = plan.result(parse(text))

        def run(plan: BitopPlan = plan, result: str = result) -> list[Any]:
            pipe = client.pipeline(transaction=False)
            for command in plan.commands:
                pipe.execute_command(*command)
            pipe.bitcount(result)
            pipe.bitpos(result, 1)
            return pipe.execute()

        found = run()[-2]
        if found != size:
            raise BenchError(f"Redis counts {found:,} for {text!r}, the engine {size:,}")
        figures["rows"].append((len(plan.commands), timing(run, args.runs)))
        print(f"  {figures['rows'][-1][1].p99_ms:8.2f} ms p99, {len(plan.commands)} BITOP: "
              f"{text}", flush=True)
    client.flushdb()
    client.close()
    return figures


def redis_table(previews: list[Timing], redis_rows: list[tuple[int, Timing]]) -> str:
    """Redis next to the engine's evaluate + sample, per expression."""
    lines = ["| # | BITOPs | Redis p50 / p99 ms | engine evaluate + sample p50 / p99 ms | "
             "Redis p50 ÷ engine p50 |", "|---:|---:|---:|---:|---:|"]
    for number, (preview, (steps, t)) in enumerate(zip(previews, redis_rows, strict=True), 1):
        lines.append(f"| {number} | {steps} | {ms(t)} | {ms(preview)} | "
                     f"{t.p50_ms / preview.p50_ms:,.1f}× |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# MariaDB: plain SQL and the rebuild


def load_memberships(url: URL, tags: dict[str, BitMap]) -> dict[str, float]:
    """Fill `user_tags` with LOAD DATA LOCAL INFILE, then index it by user; rows and seconds."""
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    path = WORK_DIR / "user_tags.tsv"
    started = time.perf_counter()
    rows = 0
    with connect(url, local_infile=True, autocommit=True) as connection, \
            connection.cursor() as cursor:
        cursor.execute("CREATE TABLE user_tags (user_id BIGINT NOT NULL, tag VARCHAR(64) NOT "
                       "NULL, PRIMARY KEY (tag, user_id)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
                       " COLLATE=utf8mb4_unicode_ci")
        pending: list[str] = []
        waiting = 0
        for tag in sorted(tags):  # in primary-key order, as InnoDB appends fastest
            values = tags[tag].to_array()
            for start in range(0, len(values), 500_000):
                piece = values[start:start + 500_000]
                pending.append(f"{tag}\t" + f"\n{tag}\t".join(map(str, piece)) + "\n")
                waiting += len(piece)
                if waiting >= ROWS_PER_FILE:
                    rows += _load_file(cursor, path, pending, waiting)
                    pending, waiting = [], 0
        if pending:
            rows += _load_file(cursor, path, pending, waiting)
        loaded = time.perf_counter()
        cursor.execute("ALTER TABLE user_tags ADD KEY ix_user_tags_user_tag (user_id, tag)")
        cursor.execute("ANALYZE TABLE user_tags")
        cursor.fetchall()
        size = scalar(connection, "SELECT data_length + index_length FROM "
                      "information_schema.tables WHERE table_schema = %s AND "
                      "table_name = 'user_tags'", url.database)
    path.unlink(missing_ok=True)
    return {"rows": rows, "load_seconds": loaded - started, "size_mib": int(size) / 2**20,
            "index_seconds": time.perf_counter() - loaded}


def _load_file(cursor: Any, path: Path, pieces: list[str], rows: int) -> int:
    path.write_text("".join(pieces), encoding="utf-8")
    cursor.execute("LOAD DATA LOCAL INFILE %s INTO TABLE user_tags CHARACTER SET utf8mb4 "
                   "(tag, user_id)", (str(path),))
    if cursor.rowcount != rows:
        raise BenchError(f"user_tags: {rows:,} rows written, {cursor.rowcount:,} loaded")
    return rows


def sql_bench(args: argparse.Namespace, tags: dict[str, BitMap], users: int) -> dict[str, Any]:
    """Each expression's plain SQL against the engine's count on the same users, then the
    rebuild's read of every row."""
    url = make_url(args.database_url)
    recreate_database(args.database_url)
    with buffer_pool(url, args.buffer_pool_mib) as pool_bytes:
        print(f"MariaDB: loading the memberships of the first {users:,} users", flush=True)
        loaded = load_memberships(url, tags)
        print(f"  {loaded['rows']:,} rows in {loaded['load_seconds']:.0f} s, indexed by user in "
              f"{loaded['index_seconds']:.0f} s; {loaded['size_mib']:,.0f} MiB", flush=True)
        view = IndexView(tags, 0, PatternUnions())  # as the index keeps them
        compared = []
        with connect(url) as connection:
            for text, sql in EXPRESSIONS:
                expr = normalize(text)[0]
                expected = count(expr, view)
                found = int(scalar(connection, sql))  # also the warm-up
                if found != expected:
                    raise BenchError(f"SQL counts {found:,} for {text!r}, the engine "
                                     f"{expected:,}")
                seconds = []
                for _ in range(args.sql_runs):
                    begun = time.perf_counter()
                    scalar(connection, sql)
                    seconds.append(time.perf_counter() - begun)
                engine = timing(lambda expr=expr: count(expr, view), args.runs)
                compared.append((expected, statistics.median(seconds) * 1000, engine))
                print(f"  {compared[-1][1]:9.1f} ms SQL, {engine.p50_ms:6.3f} ms engine: {text}",
                      flush=True)
        rebuild = rebuild_read(url, tags)
    return {"pool_mib": pool_bytes >> 20, "load": loaded, "compared": compared,
            "rebuild": rebuild, "users": users}


def rebuild_read(url: URL, expected: dict[str, BitMap]) -> dict[str, float]:
    """Stream every (tag, user_id) row into bitmaps, as AudienceIndex._rebuild does per row."""
    started = time.perf_counter()
    tags: dict[str, BitMap] = {}
    read = 0
    with connect(url, cursorclass=pymysql.cursors.SSCursor) as connection, \
            connection.cursor() as cursor:
        cursor.execute("SELECT tag, user_id FROM user_tags")
        while rows := cursor.fetchmany(50_000):
            for tag, user_id in rows:
                bitmap = tags.get(tag)
                if bitmap is None:
                    bitmap = tags[tag] = BitMap()
                bitmap.add(user_id)
                read += 1
    for bitmap in tags.values():
        bitmap.run_optimize()
    seconds = time.perf_counter() - started
    if tags != {tag: bitmap for tag, bitmap in expected.items() if bitmap}:
        raise BenchError("the bitmaps read back from MariaDB differ from the generated ones")
    print(f"Rebuild read: {read:,} rows in {seconds:.1f} s ({read / seconds:,.0f} rows/s)",
          flush=True)
    return {"rows": read, "seconds": seconds}


def sql_table(clauses: list[int], compared: list[tuple[int, float, Timing]]) -> str:
    """Plain SQL next to the engine's count, per expression."""
    lines = ["| # | clauses | users | SQL median ms | engine count p50 ms | speed-up |",
             "|---:|---:|---:|---:|---:|---:|"]
    for number, (n, (size, sql_ms, t)) in enumerate(zip(clauses, compared, strict=True), 1):
        lines.append(f"| {number} | {n} | {size:,} | {sql_ms:,.1f} | {t.p50_ms:.3f} | "
                     f"{sql_ms / t.p50_ms:,.0f}× |")
    return "\n".join(lines)
