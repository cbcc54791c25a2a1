"""Cases benchmark: `/me/cases` and `/cases/{case_no}` over a million cases, and submissions.

From the repository root: `.venv/bin/python bench/cases.py` (`--help` for options). It

1. makes the `bench_cases` database on MariaDB once (migrations, the demo catalog and
   certificate types, then bench/case_data.py's 100,000 users, 5,000 enterprises and 1,000,000
   cases); a later run finds the data there and goes straight on, an interrupted one resumes
   the load;
2. mints access tokens for a few thousand of those users and, in process, captures the SQL of
   one request of each route and prints MariaDB's EXPLAIN of every statement, with the rows
   each table access really read;
3. serves the app and bench/bare_app.py with gunicorn (2 workers × 4 threads, the same
   settings), loads each route with wrk walking round the prepared requests (many users, each
   their own token and cases), the bare app first with the same requests;
4. files cases with certificate materials (POST /api/v1/cases, a fresh Idempotency-Key each) at
   8 and 32 connections, then deletes what the run filed;
5. prints the figures and writes them to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any

import pymysql
from app_setup import (
    bench_environment,
    flush_redis,
    generated_secrets,
    recreate_database,
    run_flask,
)
from case_data import Layout, Sizes, load, next_ids, read_meta, write_meta
from errors import BenchError, run_script
from flask import Flask
from http_load import Result, doubts_about, format_shares
from http_load import load as load_route
from machine import cpu_busy_percent, machine_line
from paths import BENCH_DIR, REPO_DIR, RESULTS_FILE
from pipeline import environ_for
from results import write_section
from servers import Server, gunicorn
from sqlalchemy.engine import URL, make_url
from wrk_script import PreparedRequest, scripted_generator, write_requests

DEFAULT_DATABASE_URL = "mysql+pymysql://root@127.0.0.1:3306/bench_cases?charset=utf8mb4"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
WORK_DIR = BENCH_DIR / ".work" / "cases"
# Filed in the submission run: a personal item whose two required materials are certificates
# every generated user holds; the request names the ID card, the real-estate certificate is
# filled in from the holdings (免提交).
SUBMIT_ITEM = "GF00123003"
SUBMIT_FORM = {"house_address": "昆明市五华区翠湖南路1号", "purchase_date": "2026-03-01",
               "amount": 150000}
# GET /api/v1/me: the token, the user's row and bindings, and nothing of cases; every route
# here does that much first.
REFERENCE_NAME = "me (reference: token, user, bindings; no case read)"
AIM_RATIO = 0.5
AIM_P99_MS = 30.0
SUBMIT_CONNECTIONS = (8, 32)
SCAN_TYPES = ("ALL", "index")  # a whole table, or a whole index, read
QUIET_BUSY_PERCENT = 10.0  # of the machine's CPU, before a route is loaded


@dataclass(frozen=True)
class Route:
    name: str
    path: str  # as shown; each request has its own
    requests: list[PreparedRequest]


@dataclass(frozen=True)
class PlanRow:
    route: str
    query: str
    table: str
    type: str
    key: str
    rows: str
    read: str  # rows the table access really read (ANALYZE FORMAT=JSON's r_rows)
    extra: str
    times: int = 1  # the same statement, run this often in the request

    @property
    def scans(self) -> bool:
        # Reading a derived table (`<derived2>`) reads the few rows its own indexed query left.
        return self.type in SCAN_TYPES and not self.table.startswith("<derived")

    @property
    def covering(self) -> bool:
        return re.search(r"Using index(?! condition)", self.extra) is not None


@dataclass(frozen=True)
class InProcess:
    name: str
    microseconds: float
    queries: float
    profile: str


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options; the defaults are the documented benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help="made (or reused) by the benchmark; its name must contain 'bench'")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="its db is FLUSHED")
    parser.add_argument("--users", type=int, default=Sizes.users)
    parser.add_argument("--enterprises", type=int, default=Sizes.enterprises)
    parser.add_argument("--cases", type=int, default=Sizes.cases)
    parser.add_argument("--regenerate", action="store_true",
                        help="drop the database and generate the data again")
    parser.add_argument("--generate-only", action="store_true",
                        help="stop once the data is there")
    parser.add_argument("--buffer-pool-mib", type=int, default=2048,
                        help="raise MariaDB's innodb_buffer_pool_size to this while the benchmark"
                             " runs (restored after), as a server sized for its data would be;"
                             " 0 leaves it alone")
    parser.add_argument("--citizens", type=int, default=2000,
                        help="citizens whose tokens load /me/cases (and file cases)")
    parser.add_argument("--legal-reps", type=int, default=1000,
                        help="legal representatives whose tokens load /me/cases")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--max-requests", type=int, default=0, help="gunicorn max_requests")
    parser.add_argument("--connections", type=int, default=32, help="open connections (reads)")
    parser.add_argument("--duration", type=int, default=10, help="seconds measured per route")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per route")
    parser.add_argument("--quiet-wait", type=int, default=300,
                        help="seconds to wait at most, before each route, for other processes"
                             f" to leave the CPU (under {QUIET_BUSY_PERCENT:.0f} %% busy)")
    parser.add_argument("--no-submissions", action="store_true", help="skip POST /cases")
    parser.add_argument("--profile", action="store_true",
                        help="print cProfile of each route in process (printed anyway for a"
                             " route that misses the aim)")
    parser.add_argument("--profile-requests", type=int, default=2000)
    parser.add_argument("--in-process-only", action="store_true",
                        help="time (and with --profile, profile) the routes in process; no "
                             "server, no RESULTS.md")
    parser.add_argument("--no-results", action="store_true", help="do not write RESULTS.md")
    return parser.parse_args(argv)


# ---------------------------------------------------------------------------------------------
# MariaDB and the data


def connect(url: URL, *, database: bool = True, **options: Any) -> pymysql.Connection:
    try:
        return pymysql.connect(host=url.host or "127.0.0.1", port=url.port or 3306,
                               user=url.username or "root", password=url.password or "",
                               database=url.database if database else None, charset="utf8mb4",
                               connect_timeout=3, **options)
    except pymysql.err.OperationalError as exc:
        raise BenchError(f"cannot connect to MariaDB at {url.host}:{url.port}: "
                         f"{exc.args[-1]}") from exc


def scalar(connection: pymysql.Connection, sql: str, *args: Any) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, args or None)
        row = cursor.fetchone()
    return row[0] if row else None


@contextmanager
def buffer_pool(url: URL, mib: int) -> Iterator[int]:
    """innodb_buffer_pool_size at least `mib` MiB for the block, then as it was; yields it."""
    with connect(url, database=False) as connection:
        before = int(scalar(connection, "SELECT @@innodb_buffer_pool_size"))
        wanted = mib * 1024 * 1024
        if mib and wanted > before:
            print(f"innodb_buffer_pool_size {before >> 20} MiB → {mib} MiB for this run",
                  flush=True)
            _resize(connection, wanted)
    try:
        yield max(before, wanted) if mib else before
    finally:
        if mib and wanted > before:
            with connect(url, database=False) as connection:
                _resize(connection, before)
            print(f"innodb_buffer_pool_size back to {before >> 20} MiB")


def _resize(connection: pymysql.Connection, size: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SET GLOBAL innodb_buffer_pool_size = {int(size)}")
    for _ in range(600):  # the resize runs in the background
        status = scalar(connection, "SELECT variable_value FROM information_schema."
                        "global_status WHERE variable_name = 'INNODB_BUFFER_POOL_RESIZE_STATUS'")
        if int(scalar(connection, "SELECT @@innodb_buffer_pool_size")) == size and (
                not status or "ompleted" in status or "finished" in status.lower()):
            return
        time.sleep(0.1)


def database_meta(url: URL) -> dict[str, str]:
    with connect(url, database=False) as connection:
        if not scalar(connection, "SELECT COUNT(*) FROM information_schema.schemata "
                      "WHERE schema_name = %s", url.database):
            return {}
    with connect(url) as connection:
        return read_meta(connection)


def start_over(args: argparse.Namespace, url: URL, sizes: Sizes) -> dict[str, str]:
    """A new, migrated database; its keys and the sizes asked for noted in it."""
    print(f"creating database {url.database} and migrating it", flush=True)
    recreate_database(args.database_url)
    flush_redis(args.redis_url)
    secrets = generated_secrets()
    with connect(url) as connection:
        write_meta(connection, secrets=json.dumps(secrets), sizes=json.dumps(asdict(sizes)))
    env = bench_environment(args.database_url, args.redis_url) | secrets
    run_flask(env | {"CELERY_ALWAYS_EAGER": "1"}, "db", "upgrade")
    return database_meta(url)


def prepare_database(args: argparse.Namespace, sizes: Sizes
                     ) -> tuple[dict[str, str], dict[str, str]]:
    """The environment with the data's keys, and the database's notes; a new database when
    there is none for these sizes (or `--regenerate`)."""
    url = make_url(args.database_url)
    if "bench" not in (url.database or ""):
        raise BenchError(f"refusing to use database {url.database!r}: its name must contain "
                         "'bench'")
    meta = database_meta(url)
    if args.regenerate or meta.get("sizes") != json.dumps(asdict(sizes)):
        meta = start_over(args, url, sizes)
    env = bench_environment(args.database_url, args.redis_url) | json.loads(meta["secrets"])
    return env, meta


def seed_catalog(app: Flask, url: URL, meta: dict[str, str]) -> Layout:
    """The demo catalog and certificate types (what the cases refer to), once; the layout of
    the ids the generated rows take after them."""
    if "layout" in meta:
        return Layout(**json.loads(meta["layout"]))
    from app.catalog.versions import publish_version
    from app.extensions import db
    from app.seed import load_data
    from app.seed.catalog import seed_catalog as seed_items
    from app.seed.certificates import seed_certificate_types

    print("seeding the demo catalog and certificate types", flush=True)
    with app.app_context():
        # Types first: the catalog's materials name them (免提交).
        seed_certificate_types(load_data("certificate_types.json"))
        seed_items(load_data)
        db.session.commit()
        publish_version()
    with connect(url) as connection:
        layout = next_ids(connection, datetime.now(UTC))
        write_meta(connection, layout=json.dumps(asdict(layout)))
    return layout


def fill(app: Flask, url: URL, sizes: Sizes, layout: Layout, meta: dict[str, str]) -> str:
    """Load the generated data unless it is all there; says how it came to be there."""
    if meta.get("complete") == "yes":
        with connect(url) as connection:
            count = scalar(connection, "SELECT COUNT(*) FROM cases WHERE id >= %s AND id < %s",
                           layout.case_base, layout.case_base + sizes.cases)
        if count != sizes.cases:
            raise BenchError(f"{url.database} holds {count:,} of the {sizes.cases:,} generated "
                             "cases; run again with --regenerate")
        print(f"data present in {url.database}: {count:,} cases, not generating", flush=True)
        took = meta.get("generation_minutes")
        return "generated by an earlier run" + (
            f" (bench/case_data.py, {took} min)" if took else "")
    print(f"generating {sizes.cases:,} cases (resuming what is loaded)", flush=True)
    started = time.perf_counter()
    with app.app_context(), connect(url, local_infile=True, autocommit=False) as connection:
        from app.platform.working_days import working_calendar
        from app.privacy.vault import vault

        load(connection, WORK_DIR / "load", sizes, layout, vault(), working_calendar(),
             say=lambda line: print(line, flush=True))
        minutes = (time.perf_counter() - started) / 60
        if not meta.get("case_days") and meta.get("people") != "loaded":
            write_meta(connection, generation_minutes=f"{minutes:.1f}")  # a whole load only
    print(f"generated in {minutes:.1f} min", flush=True)
    return f"generated by bench/case_data.py in {minutes:.1f} min"


def in_process_app(env: dict[str, str]) -> Flask:
    """The app in this process, configured as the servers are."""
    os.environ.update(env)
    from app import create_app

    return create_app()


def data_line(url: URL, sizes: Sizes, origin: str) -> str:
    with connect(url) as connection:
        counts = {t: scalar(connection, f"SELECT COUNT(*) FROM `{t}`")
                  for t in ("case_nodes", "case_materials")}
        mib = scalar(connection, "SELECT SUM(data_length + index_length) / 1048576 FROM "
                     "information_schema.tables WHERE table_schema = DATABASE()")
        version = scalar(connection, "SELECT VERSION()")
    return (f"MariaDB {version.split('-')[0]}, database `{url.database}` ({mib:,.0f} MiB of data"
            f" and indexes): {sizes.users:,} users ({sizes.enterprises:,} legal representatives,"
            f" {sizes.enterprises * sizes.agents_per_enterprise:,} agents), "
            f"{sizes.enterprises:,} enterprises, {sizes.cases:,} cases over 365 days (30 % for "
            f"enterprises, 1 % bundles) with {counts['case_nodes']:,} timeline nodes and "
            f"{counts['case_materials']:,} materials; {origin}")


def remove_filed(url: URL, layout: Layout, sizes: Sizes, *, sessions: bool) -> int:
    """Delete the cases runs filed (their nodes and materials go with them) and their events,
    so every run reads the data as generated; with `sessions`, the sessions minted too."""
    with connect(url, autocommit=True) as connection, connection.cursor() as cursor:
        removed = cursor.execute("DELETE FROM cases WHERE id >= %s",
                                 (layout.case_base + sizes.cases,))
        cursor.execute("DELETE FROM domain_events")
        if sessions:
            cursor.execute("DELETE FROM auth_sessions")
    return removed


# ---------------------------------------------------------------------------------------------
# Who asks, and what


@dataclass(frozen=True)
class People:
    citizens: list[int]  # user ids
    legal_reps: list[int]
    own_cases: list[tuple[int, str]]  # (citizen's user id, one of their personal cases)
    enterprise_cases: list[tuple[int, str]]  # (legal rep's or agent's, their enterprise's)
    certificates: dict[int, int]  # user id → their ID card's certificate id
    tokens: dict[int, str]


def choose_people(app: Flask, layout: Layout, sizes: Sizes, args: argparse.Namespace) -> People:
    """Citizens and legal representatives at random, a case each may see, and their tokens."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.identity.sessions import start_session
    from app.models import User

    rng = random.Random(7)
    citizens = [layout.user_id(p) for p in rng.sample(range(sizes.first_citizen, sizes.users),
                                                       min(args.citizens, sizes.users
                                                           - sizes.first_citizen))]
    reps = [layout.user_id(p) for p in rng.sample(range(sizes.enterprises),
                                                  min(args.legal_reps, sizes.enterprises))]
    agents = [layout.user_id(layout.agent(sizes, p, 0))
              for p in rng.sample(range(sizes.enterprises), min(len(reps), sizes.enterprises))]
    with app.app_context():
        # Citizens look at one of their own cases; legal representatives and agents at one of
        # their enterprise's (its own top-level cases and the members of its bundles alike).
        own = db.session.execute(sa.text(
            "SELECT applicant_user_id, case_no FROM cases WHERE enterprise_id IS NULL AND "
            "applicant_user_id IN :ids ORDER BY id").bindparams(
                sa.bindparam("ids", expanding=True)), {"ids": citizens}).all()
        by_user: dict[int, list[str]] = {}
        for user_id, case_no in own:
            by_user.setdefault(user_id, []).append(case_no)
        own_cases = [(u, rng.choice(by_user[u])) for u in citizens if u in by_user]
        bound = db.session.execute(sa.text(
            "SELECT b.user_id, c.case_no FROM enterprise_bindings b JOIN cases c ON "
            "c.enterprise_id = b.enterprise_id WHERE b.user_id IN :ids ORDER BY c.id")
            .bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": reps[: len(reps) // 2] + agents[: len(reps) // 2]}).all()
        by_user = {}
        for user_id, case_no in bound:
            by_user.setdefault(user_id, []).append(case_no)
        enterprise_cases = [(u, rng.choice(cases)) for u, cases in by_user.items()]
        certificates = dict(db.session.execute(sa.text(
            "SELECT u.id, c.id FROM users u JOIN certificates c ON c.holder_id_index = "
            "u.id_number_index JOIN certificate_types t ON t.id = c.type_id AND t.code = "
            "'id_card' WHERE u.id IN :ids").bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": citizens}).all())
        wanted = sorted({*citizens, *reps, *(u for u, _ in enterprise_cases)})
        tokens = {}
        for start in range(0, len(wanted), 1000):
            for user in db.session.scalars(sa.select(User).where(
                    User.id.in_(wanted[start:start + 1000]))):
                tokens[user.id] = start_session(user).access_token
        db.session.commit()
    return People(citizens, reps, own_cases, enterprise_cases, certificates, tokens)


@dataclass(frozen=True)
class Workload:
    bare: Route
    reference: Route  # an authenticated route reading no case: the floor of the others
    reads: list[Route]
    submissions: list[PreparedRequest]
    samples: list[tuple[str, PreparedRequest]]  # one request of each kind, for the plans


def workload(people: People) -> Workload:
    """The bare baseline, the read routes, the submissions and a sample of each kind."""
    t = people.tokens
    lists = [PreparedRequest("GET", "/api/v1/me/cases", t[u]) for u in people.citizens]
    rep_lists = [PreparedRequest("GET", "/api/v1/me/cases", t[u]) for u in people.legal_reps]
    own = [PreparedRequest("GET", f"/api/v1/cases/{no}", t[u]) for u, no in people.own_cases]
    theirs = [PreparedRequest("GET", f"/api/v1/cases/{no}", t[u])
              for u, no in people.enterprise_cases]
    details = random.Random(11).sample(own + theirs, len(own) + len(theirs))
    submissions = [PreparedRequest("POST", "/api/v1/cases", t[u], json.dumps(
        {"service_code": SUBMIT_ITEM, "form": SUBMIT_FORM,
         "materials": [{"material_id": "m1", "certificate_id": str(certificate)}]},
        ensure_ascii=False))
        for u, certificate in people.certificates.items()]
    return Workload(
        Route("bare (baseline)", "/", [replace(r, path="/") for r in lists]),
        Route(REFERENCE_NAME, "/api/v1/me", [replace(r, path="/api/v1/me") for r in lists]),
        [Route(f"me/cases, {len(lists):,} citizens", "/api/v1/me/cases", lists),
         Route(f"me/cases, {len(rep_lists):,} legal reps (own + enterprise)",
               "/api/v1/me/cases", rep_lists),
         Route(f"cases/{{case_no}}, {len(own):,} citizens' own and {len(theirs):,} "
               "enterprise cases", "/api/v1/cases/{case_no}", details)],
        submissions,
        [("list, citizen", lists[0]), ("list, legal rep", rep_lists[0]),
         ("case, citizen's own", own[0]), ("case, enterprise's, by legal rep or agent",
                                           theirs[0])])


# ---------------------------------------------------------------------------------------------
# In process: the queries of each route, their plans, and where the time goes


def statements_of(app: Flask, request: PreparedRequest) -> list[tuple[str, Any]]:
    """The SQL one request runs, once its session state is cached (as under load)."""
    import sqlalchemy as sa

    from app.extensions import db

    client = app.test_client()
    headers = {"Authorization": f"Bearer {request.token}"}
    answer = client.get(request.path, headers=headers)
    if answer.status_code != 200:
        raise BenchError(f"{request.path} answered {answer.status_code}: "
                         f"{answer.get_data(as_text=True)[:300]}")
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        seen.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        client.get(request.path, headers=headers)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    return seen


def short_sql(statement: str) -> str:
    """The statement without its column list, on one line."""
    text = " ".join(statement.split()).replace("`", "")
    text = re.sub(r"^SELECT (?:(?!\bFROM\b).)*? FROM ", "SELECT … FROM ", text)
    text = re.sub(r"IN \((?:%\(\w+\)s|%s)(?:, (?:%\(\w+\)s|%s))+\)", "IN (…)", text)
    return re.sub(r"%\((\w+?)(?:_\d+)?\)s|%s", "?", text)


def plans(app: Flask, url: URL, samples: list[tuple[str, PreparedRequest]]) -> list[PlanRow]:
    """MariaDB's EXPLAIN of every statement of each sample, with the rows each table access
    read (ANALYZE); a statement run several times in the request (a lookup per row) is shown
    once, with how often it ran."""
    rows: list[PlanRow] = []
    with connect(url) as connection:
        for route, request in samples:
            seen: dict[str, int] = {}
            for statement, parameters in statements_of(app, request):
                query = short_sql(statement)
                if query in seen:
                    for n in range(seen[query], len(rows)):
                        rows[n] = replace(rows[n], times=rows[n].times + 1)
                    continue
                seen[query] = len(rows)
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN " + statement, parameters)
                    names = [d[0] for d in cursor.description]
                    plan_rows = [dict(zip(names, values, strict=True))
                                 for values in cursor.fetchall()]
                    # The rows each table access really read: tabular ANALYZE shows, under a
                    # sort, the rows the sort gave out instead.
                    cursor.execute("ANALYZE FORMAT=JSON " + statement, parameters)
                    read = rows_read(json.loads(cursor.fetchone()[0]))
                rows += [PlanRow(route, query, *(str(plan[column] or "—") for column in (
                    "table", "type", "key", "rows")), read.get(str(plan["table"]), "—"),
                    str(plan["Extra"] or "")) for plan in plan_rows]
    return rows


def rows_read(node: Any) -> dict[str, str]:
    """r_rows of every table access in ANALYZE FORMAT=JSON's tree, by table (alias)."""
    found: dict[str, str] = {}
    if isinstance(node, dict):
        if "table_name" in node and "r_rows" in node:
            # None: the access never ran (a join that found nothing before it).
            read = node["r_rows"]
            found[node["table_name"]] = "—" if read is None else f"{read:g}"
        for value in node.values():
            found |= rows_read(value)
    elif isinstance(node, list):
        for value in node:
            found |= rows_read(value)
    return found


def plan_table(rows: list[PlanRow]) -> str:
    lines = ["| route | statement | runs | table | type | key | rows (estimate) | rows read "
             "| Extra |", "|---|---|---:|---|---|---|---:|---:|---|"]
    for r in rows:
        query = r.query.replace("|", "\\|")
        lines.append(f"| {r.route} | `{query}` | {r.times} | {r.table} | {r.type} | {r.key} | "
                     f"{r.rows} | {r.read} | {r.extra} |")
    return "\n".join(lines)


def plan_findings(rows: list[PlanRow]) -> list[str]:
    """What the plans say: scans, covering reads, sorts, repeated statements."""
    statements = {(r.route, r.query) for r in rows}
    scans = [r for r in rows if r.scans]
    findings = [f"{len(statements)} distinct statements over the routes; " + (
        "no full table or index scan (every table read by PRIMARY, a unique key or an index "
        "range; a derived table is read whole, as it holds only its subquery's rows)"
        if not scans else f"{len(scans)} scan(s): " + "; ".join(
            f"{r.table} ({r.type}, {r.key})" for r in scans))]
    covering = sorted({f"{r.table}.{r.key}" for r in rows if r.covering})
    findings.append("covering reads (Using index): " + (", ".join(covering) or "none"))
    sorts = sorted({f"{r.table}.{r.key}" for r in rows if "filesort" in r.extra})
    if sorts:
        findings.append("sorted after reading (Using filesort): " + ", ".join(sorts))
    repeated = sorted({(r.route, r.query, r.times) for r in rows if r.times > 1})
    findings += [f"{route}: `{query}` runs {times} times in one request"
                 for route, query, times in repeated]
    return findings


def in_process(app: Flask, route: Route, requests: int, with_profile: bool) -> InProcess:
    """µs per request and queries per request through the WSGI entry point; cProfile's top."""
    import sqlalchemy as sa

    from app.extensions import db

    with app.app_context():
        engine = db.engine
    count = [0]

    def counted(*_: Any) -> None:
        count[0] += 1

    def call(request: PreparedRequest) -> None:
        environ = environ_for(request.path) | {"HTTP_AUTHORIZATION": f"Bearer {request.token}"}

        def start_response(status: str, headers: list, exc_info: object = None) -> None:
            if not status.startswith("200"):
                raise BenchError(f"{request.path} answered {status} in process")

        body = app.wsgi_app(environ, start_response)
        b"".join(body)  # type: ignore[arg-type]
        getattr(body, "close", lambda: None)()

    cycle = [route.requests[n % len(route.requests)] for n in range(requests)]
    for request in cycle[: min(500, requests)]:
        call(request)  # sessions' states cached, pages warm
    sa.event.listen(engine, "before_cursor_execute", counted)
    started = time.perf_counter()
    try:
        for request in cycle:
            call(request)
    finally:
        sa.event.remove(engine, "before_cursor_execute", counted)
    seconds = time.perf_counter() - started
    profile = ""
    if with_profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for request in cycle:
            call(request)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        # The app's own functions by time spent in them and below, then the hottest of all.
        stats.sort_stats("cumulative").print_stats(rf"{re.escape(str(REPO_DIR / 'app'))}", 30)
        stats.strip_dirs().sort_stats("tottime").print_stats(20)
        profile = out.getvalue()
    return InProcess(route.name, seconds / requests * 1e6, count[0] / requests, profile)


# ---------------------------------------------------------------------------------------------
# Over HTTP


def probe(server: Server, request: PreparedRequest, expected: int) -> None:
    """Fail early, with the body, when a prepared request does not get the expected status."""
    import http.client

    connection = http.client.HTTPConnection(server.url.split("//")[1], timeout=10)
    headers = {"Authorization": f"Bearer {request.token}", "Content-Type": "application/json",
               "Idempotency-Key": f"probe-{time.time_ns()}"}
    try:
        connection.request(request.method, request.path,
                           request.body.encode() if request.body else None, headers)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != expected:
        raise BenchError(f"{request.method} {request.path} answered {response.status}: "
                         f"{body[:500].decode(errors='replace')}")


def wait_until_quiet(limit_s: int) -> None:
    """Wait, `limit_s` at most, while other work (a test run, say) keeps the CPU busy: it would
    be measured too. The servers idle meanwhile, so what keeps the CPU busy is not ours."""
    deadline = time.monotonic() + limit_s
    busy = cpu_busy_percent(2.0)
    if busy > QUIET_BUSY_PERCENT:
        print(f"    the CPU is {busy:.0f} % busy: waiting up to {limit_s} s for it to quieten",
              flush=True)
    while busy > QUIET_BUSY_PERCENT and time.monotonic() < deadline:
        busy = cpu_busy_percent(5.0)


def load_prepared(server: Server, route: Route, args: argparse.Namespace,
                  connections: int | None = None) -> Result:
    """Warm up and measure one route over its prepared requests (http_load's retries)."""
    wait_until_quiet(args.quiet_wait)
    slug = re.sub(r"[^a-z0-9]+", "-", route.name.lower()).strip("-")
    file = write_requests(WORK_DIR / f"requests-{slug}.tsv", route.requests)
    generator = scripted_generator(file, WORK_DIR)
    settings = replace_args(args, connections=connections or args.connections)
    return load_route(generator, server, route.name, route.path.split("{")[0], settings)


def replace_args(args: argparse.Namespace, **changes: Any) -> argparse.Namespace:
    return argparse.Namespace(**{**vars(args), **changes})


def serve_and_load(args: argparse.Namespace, env: dict[str, str], work: Workload,
                   submissions: list[PreparedRequest]
                   ) -> tuple[Result, list[Result], list[Result]]:
    """The bare baseline, then the reference and the read routes (in that order), then the
    submissions at each number of connections."""
    settings = {"workers": args.workers, "threads": args.threads,
                "max_requests": args.max_requests, "log_dir": WORK_DIR / "servers"}
    with (gunicorn("wsgi:app", env, **settings) as app_server,
          gunicorn("bench.bare_app:app", env, **settings) as bare_server):
        for route in [work.reference, *work.reads]:
            probe(app_server, route.requests[0], 200)
        print(f"loading (gunicorn {args.workers} workers × {args.threads} threads)", flush=True)
        baseline = load_prepared(bare_server, work.bare, args)
        results = [load_prepared(app_server, route, args)
                   for route in [work.reference, *work.reads]]
        filed: list[Result] = []
        if submissions:
            probe(app_server, submissions[0], 201)
            for connections in SUBMIT_CONNECTIONS:
                route = Route(f"POST /cases, {connections} connections", "/api/v1/cases",
                              submissions)
                filed.append(load_prepared(app_server, route, args, connections))
    return baseline, results, filed


def aim_met(result: Result, baseline: Result) -> bool:
    m = result.measurement
    return (m.requests_per_s >= AIM_RATIO * baseline.measurement.requests_per_s
            and m.p99_ms <= AIM_P99_MS and not m.non_2xx)


def read_table(results: list[Result], baseline: Result) -> str:
    lines = ["| route | requests/s | p50 ms | p99 ms | non-2xx | socket errors | worker CPU % "
             "| others' CPU % | app/bare | aim (≥ 0.5×, p99 ≤ 30 ms) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for result in [*results, baseline]:
        m = result.measurement
        ratio = m.requests_per_s / baseline.measurement.requests_per_s
        aim = ("—" if result is baseline else "(reference)" if result.name == REFERENCE_NAME
               else "met" if aim_met(result, baseline) else "missed")
        lines.append(f"| {result.name} | {m.requests_per_s:,.0f} | {m.p50_ms:.2f} | "
                     f"{m.p99_ms:.2f} | {m.non_2xx} | {m.socket_errors} | "
                     f"{format_shares(result)} | {result.others_cpu_share * 100:.0f} | "
                     f"{ratio:.2f} | {aim} |")
    return "\n".join(lines)


def submit_table(filed: list[Result]) -> str:
    lines = ["| connections | cases/s | p50 ms | p99 ms | non-2xx | socket errors "
             "| worker CPU % |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for result in filed:
        m = result.measurement
        connections = result.name.rsplit(", ", 1)[1].split()[0]
        lines.append(f"| {connections} | {m.requests_per_s:,.0f} | {m.p50_ms:.2f} | "
                     f"{m.p99_ms:.2f} | {m.non_2xx} | {m.socket_errors} | "
                     f"{format_shares(result)} |")
    return "\n".join(lines)


def in_process_table(figures: list[InProcess]) -> str:
    lines = ["| route | µs per request | SQL statements per request |", "|---|---:|---:|"]
    lines += [f"| {f.name} | {f.microseconds:,.0f} | {f.queries:.1f} |" for f in figures]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The run


def run(args: argparse.Namespace) -> None:
    sizes = Sizes(users=args.users, enterprises=args.enterprises, cases=args.cases)
    url = make_url(args.database_url)
    with buffer_pool(url, args.buffer_pool_mib) as pool_bytes:
        env, meta = prepare_database(args, sizes)
        app = in_process_app(env)
        layout = seed_catalog(app, url, meta)
        origin = fill(app, url, sizes, layout, meta)
        if args.generate_only:
            return
        remove_filed(url, layout, sizes, sessions=True)
        flush_redis(args.redis_url)
        try:
            measured = measure(args, app, env, url, layout, sizes)
        finally:
            remove_filed(url, layout, sizes, sessions=True)
    data = data_line(url, sizes, origin)
    if not args.no_results:
        heading = (f"Cases, {datetime.now():%Y-%m-%d}, {sizes.cases:,} cases, "
                   f"{args.workers} workers × {args.threads} threads")
        write_section(heading, report(args, data, pool_bytes, measured))
        print(f"written to {RESULTS_FILE.relative_to(REPO_DIR)}")


@dataclass(frozen=True)
class Measured:
    tokens: int
    baseline: Result
    results: list[Result]
    filed: list[Result]
    figures: list[InProcess]
    plan_rows: list[PlanRow]
    doubts: list[str]


def measure(args: argparse.Namespace, app: Flask, env: dict[str, str], url: URL,
            layout: Layout, sizes: Sizes) -> Measured:
    """Plans, in-process figures, the HTTP runs; profiles of routes that miss the aim."""
    print("minting tokens", flush=True)
    people = choose_people(app, layout, sizes, args)
    work = workload(people)
    plan_rows = plans(app, url, work.samples)
    print(f"\n{plan_table(plan_rows)}\n")
    for finding in plan_findings(plan_rows):
        print(f"- {finding}")
    routes = [work.reference, *work.reads]
    figures = [in_process(app, route, args.profile_requests, args.profile) for route in routes]
    if args.in_process_only:
        for figure in figures:
            print(f"\n### {figure.name}: {figure.microseconds:,.0f} µs per request in "
                  f"process, {figure.queries:.1f} statements\n{figure.profile}")
        raise SystemExit(0)
    try:
        baseline, results, filed = serve_and_load(
            args, env, work, [] if args.no_submissions else work.submissions)
    finally:
        removed = remove_filed(url, layout, sizes, sessions=False)
    missed = [r.name for r in results if not aim_met(r, baseline) and r.name != REFERENCE_NAME]
    if missed and not args.profile:
        figures = [in_process(app, route, args.profile_requests, True)
                   if route.name in missed else figure
                   for route, figure in zip(routes, figures, strict=True)]
    for figure in figures:
        if figure.profile:
            print(f"\n### {figure.name}: {figure.microseconds:,.0f} µs per request in "
                  f"process, {figure.queries:.1f} statements\n{figure.profile}")
    print(f"\n{read_table(results, baseline)}\n\n{in_process_table(figures)}\n")
    if filed:
        print(f"{submit_table(filed)}\n\n(the {removed:,} cases filed are deleted again)")
    doubts = doubts_about([*results, *filed], baseline)
    for doubt in doubts:
        print(f"WARNING: {doubt}")
    return Measured(len(people.tokens), baseline, results, filed, figures, plan_rows, doubts)


def report(args: argparse.Namespace, data: str, pool_bytes: int, m: Measured) -> str:
    """The body of this run's RESULTS.md section."""
    import importlib.metadata

    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in ("gunicorn", "Flask"))
    lines = [
        f"- machine: {machine_line()}",
        f"- data: {data}",
        f"- MariaDB on the same machine, innodb_buffer_pool_size {pool_bytes >> 20} MiB"
        + (" (raised for the run by `--buffer-pool-mib`)" if args.buffer_pool_mib else ""),
        f"- server: gunicorn.conf.py, {args.workers} workers × {args.threads} threads, "
        f"max_requests {args.max_requests}, LOG_LEVEL=WARNING; {versions}",
        f"- load: wrk with bench/wrk_script.py's Lua walking round prepared requests "
        f"({m.tokens:,} users' access tokens, each request its own user), {args.connections} "
        f"connections, {args.warmup} s warm-up then {args.duration} s per route; the bare app "
        "gets the same requests (path `/`)",
        "",
        read_table(m.results, m.baseline),
        "",
        f"`me` is the floor of every route here: it verifies the token (and the session's state "
        "in Redis), reads the user and their bindings, and reads no case. With "
        f"{args.connections} connections always busy, latency ≈ connections ÷ requests/s: p99 "
        f"≤ {AIM_P99_MS:.0f} ms takes well over {args.connections / AIM_P99_MS * 1000:,.0f} "
        "requests/s.",
        "",
        "In process (the app's WSGI entry point, same database, no server):",
        "",
        in_process_table(m.figures),
        "",
        "Every statement of one request of each kind (session state cached, as under load): "
        "MariaDB's EXPLAIN, and the rows each table access read (ANALYZE FORMAT=JSON's r_rows):",
        "",
        plan_table(m.plan_rows),
        "",
        *(f"- {finding}" for finding in plan_findings(m.plan_rows)),
    ]
    if m.filed:
        lines += ["", f"POST /api/v1/cases (`{SUBMIT_ITEM}` with its form, the ID card named as "
                  "material m1, the real-estate certificate filled in from the holdings; each "
                  "request a fresh Idempotency-Key, users in turn; the cases filed are deleted "
                  "after):", "", submit_table(m.filed)]
    if m.doubts:
        lines += ["", *(f"- WARNING: {doubt}" for doubt in m.doubts)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return run_script("cases.py", run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
