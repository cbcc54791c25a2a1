"""Push fan-out benchmark: inbox runs, inbox reads, WeChat sends and case events at scale.

An inbox run over 35 million people, the inbox read with 200 live runs, WeChat sends through
Celery workers (one killed mid-run), and a case event reaching the applicant's inbox.

From the repository root: `.venv/bin/python bench/fanout.py` (`--help` for options). It

1. rebuilds the `bench_fanout` database on MariaDB (migrated, the demo data, whose own two runs
   are stopped so that only the runs below are live) and flushes Redis db 9;
2. generates bench/audience_data.py's 200 tags over `--users` ids straight into bitmaps, the tag
   source of the runs (in place of the audience index, which would rebuild them from MariaDB);
   makes three broadcast runs earlier today, so that the daily cap (PUSH_DAILY_CAP, 3) holds
   back whoever had all three, and times an approved inbox rule's `start_run(rule,
   trigger="once", source=…)` and its commit: recipients, skipped by reason, the snapshot's
   size and where the time went; then checks that recipients' inboxes (`messages_for`) show it
   and that the muted's and the held back's do not (bench/fanout_inbox.py);
3. stops those runs and makes 200 live ones, one per generated tag (so of every size, over the
   same ids), and loads `GET /api/v1/me/messages` as `--people` users over HTTP with wrk under
   gunicorn, against the bare Flask app in the same run (bench/fanout_inbox.py;
   `--skip-http`);
4. sends WeChat messages through Celery workers to the stub WeChat server, and kills a worker
   during a second run (bench/fanout_wechat.py; `--skip-wechat`);
5. moves the demo's open cases with department events (`department_event`, committed) and times
   each until the applicant's inbox shows the message, through a Celery worker on Redis
   (`--skip-events`);
6. prints which aims were met and writes one section of bench/RESULTS.md (`--no-results`).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
import uuid
from datetime import date
from itertools import zip_longest
from typing import Any

import sqlalchemy as sa
from app_setup import bench_environment, flush_redis, recreate_database, run_flask
from audience_data import SEED, generate, to_bitmap
from errors import BenchError, run_script
from fanout_inbox import (
    AIM_P99_MS,
    AIM_RATIO,
    AIM_RUN_S,
    EARLIER_RUNS,
    MAIN_AUDIENCE,
    MAIN_CATEGORY,
    add_people,
    approved_rule,
    inbox_read,
    inbox_run,
    live_runs_from,
    sample_people,
    stop_runs,
)
from fanout_wechat import (
    AIM_SENDS_PER_S,
    STUB_THREADS,
    WORK_DIR,
    start_worker,
    stop_worker,
    wechat_figures,
)
from http_load import format_shares
from machine import cpu_busy_percent, machine_line
from paths import REPO_DIR, RESULTS_FILE
from results import write_section

from app.cases.progress import department_event
from app.extensions import db
from app.models import User
from app.models.case import Case
from app.models.push import PushRule, PushRun
from app.platform.orm import utcnow
from app.push.inbox import LIVE_RUNS_MAX_AGE_SECONDS, messages_for

FULL_SIZE = 35_000_000
DEFAULT_DATABASE_URL = "mysql+pymysql://root@127.0.0.1:3306/bench_fanout?charset=utf8mb4"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
STUB_APPID, STUB_SECRET = "wx-demo-appid", "wx-demo-secret"  # the stub factory's defaults
AIM_EVENT_P99_S = 5.0
NEXT_STATUS = {"submitted": "accepted", "supplement_requested": "accepted",
               "accepted": "in_review", "in_review": "approved"}
DEPARTMENT_KEY = "bench"  # the key id bench_environment's DEPARTMENT_KEYS names
EVENT_TIMEOUT_S, EVENT_POLL_S = 30.0, 0.01


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options; the defaults are the documented benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=FULL_SIZE, help="ids 1..N in the tags")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help="DROPPED and rebuilt (its name must contain 'bench')")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="its db is FLUSHED")
    parser.add_argument("--people", type=int, default=2000,
                        help="accounts among the ids: inboxes read, HTTP users")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--max-requests", type=int, default=0, help="gunicorn max_requests")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--duration", type=int, default=10, help="seconds measured per route")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per route")
    parser.add_argument("--wechat-recipients", type=int, default=20_000)
    parser.add_argument("--chunk-size", type=int, default=0,
                        help="recipients per chunk task (default: the app's, 1,000)")
    parser.add_argument("--celery-workers", type=int, default=2,
                        help="push workers of one process each")
    parser.add_argument("--send-rate", type=int, default=100_000,
                        help="WECHAT_SENDS_PER_SECOND for the run (production default 1,000)")
    parser.add_argument("--visibility-timeout", type=int, default=60,
                        help="CELERY_VISIBILITY_TIMEOUT: when a dead worker's task comes back")
    parser.add_argument("--kill-at", type=float, default=0.3,
                        help="share of the fault run settled when a worker is killed")
    parser.add_argument("--event-trials", type=int, default=100)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-wechat", action="store_true")
    parser.add_argument("--skip-events", action="store_true")
    parser.add_argument("--no-results", action="store_true", help="do not write RESULTS.md")
    return parser.parse_args(argv)


def prepare(args: argparse.Namespace) -> dict[str, str]:
    """The environment of the app, its workers and servers; the database and Redis rebuilt."""
    env = bench_environment(args.database_url, args.redis_url) | {
        "CELERY_ALWAYS_EAGER": "false", "WECHAT_APPID": STUB_APPID,
        "WECHAT_SECRET": STUB_SECRET, "WECHAT_SENDS_PER_SECOND": str(args.send_rate),
        "CELERY_VISIBILITY_TIMEOUT": str(args.visibility_timeout)}
    print("rebuilding the bench database (migrations, demo data) and Redis db", flush=True)
    flush_redis(args.redis_url)
    recreate_database(args.database_url)
    eager = env | {"CELERY_ALWAYS_EAGER": "true"}  # the seed's events handled as it runs
    run_flask(eager, "db", "upgrade")
    run_flask(eager, "seed-demo")
    return env


def event_moves(count: int) -> list[tuple[int, str, int, str]]:
    """(case id, case number, applicant, status reached) of `count` department moves: each
    open demo case walked towards approval a status at a time, the cases in turn."""
    walks = []
    for case_id, case_no, user_id, status in db.session.execute(sa.select(
            Case.id, Case.case_no, Case.applicant_user_id, Case.status).where(
            Case.kind == "item", Case.status.in_(NEXT_STATUS),
            Case.applicant_user_id.is_not(None)).order_by(Case.id)):
        walk = []
        while status in NEXT_STATUS:
            status = NEXT_STATUS[status]
            walk.append((case_id, case_no, user_id, status))
        walks.append(walk)
    moves = [move for turn in zip_longest(*walks) for move in turn if move]
    if len(moves) < count:
        raise BenchError(f"the demo's open cases allow {len(moves)} moves, not {count}")
    return moves[:count]


def event_trial(rule_id: int, move: tuple[int, str, int, str]) -> tuple[float, float]:
    """Seconds from the department event's commit to its run being recorded, and to its
    message in the applicant's inbox (inf when it is not there in time)."""
    case_id, case_no, user_id, status = move
    department_event(DEPARTMENT_KEY, case_no, {"event_id": uuid.uuid4().hex, "status": status,
                                               "at": utcnow(), "note": "", "department": ""})
    db.session.commit()
    committed = time.perf_counter()
    key = f"case:{case_id}:{status}"
    run_id, recorded = None, math.inf
    while (elapsed := time.perf_counter() - committed) < EVENT_TIMEOUT_S:
        db.session.rollback()  # a fresh snapshot: the worker commits on its own connection
        if run_id is None:
            run_id = db.session.scalar(sa.select(PushRun.id).where(
                PushRun.rule_id == rule_id, PushRun.event_key == key))
            recorded = elapsed if run_id is not None else recorded
        if run_id is not None and any(item["id"] == str(run_id) for item in messages_for(
                db.session.get(User, user_id)).items):
            return recorded, elapsed
        time.sleep(EVENT_POLL_S)
    return recorded, math.inf


def percentiles(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {"p50": statistics.median(ordered), "max": ordered[-1],
            "p99": ordered[min(len(ordered) - 1, math.ceil(len(ordered) * 0.99) - 1)]}


def event_latency(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """An event rule on case moves and a worker on the default queue; one untimed trial (the
    worker's first event loads its audience index), then the timed ones, each after a random
    pause so that it meets the inbox's reading of the live runs at any point of its cycle, as
    a person opening the inbox would."""
    print(f"event to message: {args.event_trials} department events", flush=True)
    rule = approved_rule("办件进度提醒", "user:registered", "case_progress",
                         title="办件进度更新", schedule_type="event", event="case_moved",
                         event_params={})
    moves = event_moves(args.event_trials + 1)
    pauses = random.Random(args.seed)
    worker = start_worker(env, "events", "default", concurrency=2)
    try:
        event_trial(rule.id, moves[0])
        timings = []
        for move in moves[1:]:
            time.sleep(pauses.uniform(0, LIVE_RUNS_MAX_AGE_SECONDS))
            timings.append(event_trial(rule.id, move))
    finally:
        stop_worker(worker)
    inbox = percentiles([shown for _, shown in timings])
    figures = {"trials": len(timings), "recorded": percentiles([r for r, _ in timings]),
               "inbox": inbox, "timeouts": sum(math.isinf(s) for _, s in timings),
               "met": inbox["p99"] <= AIM_EVENT_P99_S}
    print(f"  in the inbox: p50 {inbox['p50']:.2f} s, p99 {inbox['p99']:.2f} s, max "
          f"{inbox['max']:.2f} s (the run recorded: p50 {figures['recorded']['p50']:.2f} s, "
          f"p99 {figures['recorded']['p99']:.2f} s); {figures['timeouts']} not there after "
          f"{EVENT_TIMEOUT_S:.0f} s", flush=True)
    return figures


def measure(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """Each part in turn, in the benchmark's app context; their figures."""
    found: dict[str, Any] = {"busy": cpu_busy_percent()}
    stop_runs(list(db.session.scalars(sa.select(PushRule.id))))  # the demo's
    started = time.perf_counter()
    index = {tag: to_bitmap(bits, args.users + 1) for tag, bits in
             generate(args.users, args.seed)}
    found["generated_s"] = time.perf_counter() - started
    print(f"{len(index)} tags over {args.users:,} ids generated in {found['generated_s']:.0f} "
          f"s (CPU {found['busy']:.0f}% busy before)", flush=True)
    people = sample_people(args.users, args.people, args.seed)
    add_people(people)
    found["inbox_run"] = inbox_run(index, people)
    if not args.skip_http:
        stop_runs(found["inbox_run"]["rule_ids"])
        found["live_runs"] = live_runs_from(index)
        del index
        found["inbox_read"] = inbox_read(args, env, people, WORK_DIR)
    else:
        del index
    if not args.skip_wechat:
        found["wechat"] = wechat_figures(args, env)
    if not args.skip_events:
        found["events"] = event_latency(args, env)
    return found


def _met(ok: bool) -> str:
    return "**met**" if ok else "**missed**"


def verdicts(args: argparse.Namespace, found: dict[str, Any]) -> list[str]:
    """Each aim, whether this run met it, and the figure."""
    at = "" if args.users == FULL_SIZE else f" (measured at {args.users:,} users)"
    run = found["inbox_run"]
    lines = [f"inbox run over {FULL_SIZE:,} people in ≤ {AIM_RUN_S:.0f} s: {_met(run['met'])}"
             f"{at}: {run['seconds']:.2f} s; inboxes right: {_met(run['inbox_ok'])}"]
    if "inbox_read" in found:
        read = found["inbox_read"]
        m = read["messages"].measurement
        lines.append(f"inbox read with {found['live_runs']['runs']} live runs, ≥ {AIM_RATIO}× "
                     f"bare and p99 ≤ {AIM_P99_MS:.0f} ms: {_met(read['met'])}: "
                     f"{read['ratio']:.2f}×, p99 {m.p99_ms:.1f} ms")
    if "wechat" in found:
        steady, fault = found["wechat"]["steady"], found["wechat"]["fault"]
        lines += [f"WeChat ≥ {AIM_SENDS_PER_S:,} sends/s: {_met(found['wechat']['steady_met'])}"
                  f": {steady['rate']:,.0f} sends/s",
                  f"worker killed mid-run: no duplicate, no loss, unknown ≤ claims open at the "
                  f"kill: {_met(fault['met'])}: {fault['duplicates']} duplicates, "
                  f"{fault['lost']} lost, {fault['unknown']} unknown of {fault['open_at_kill']}"
                  " open"]
    if "events" in found:
        events = found["events"]
        lines.append(f"event to message p99 ≤ {AIM_EVENT_P99_S:.0f} s: {_met(events['met'])}: "
                     f"p99 {events['inbox']['p99']:.2f} s over {events['trials']} trials")
    skipped = [name for name, flag in (("HTTP read", args.skip_http), ("WeChat",
               args.skip_wechat), ("events", args.skip_events)) if flag]
    return lines + ([f"skipped: {', '.join(skipped)}"] if skipped else [])


def command_line(args: argparse.Namespace) -> str:
    """The command that repeats this run: the options that differ from the defaults."""
    defaults = vars(parse_args([]))
    changed = [f"--{name.replace('_', '-')}" + ("" if value is True else f" {value}")
               for name, value in vars(args).items() if value != defaults[name]]
    return " ".join([".venv/bin/python bench/fanout.py", *changed])


def report(args: argparse.Namespace, found: dict[str, Any], aims: list[str]) -> str:
    """The body of this run's RESULTS.md section."""
    run = found["inbox_run"]
    lines = [
        f"- machine: {machine_line()}; {found['busy']:.0f}% of its CPU busy just before; "
        "MariaDB, Redis, the servers and the workers on it too",
        f"- command: `{command_line(args)}`",
        f"- data: bench/audience_data.py's 200 tags over {args.users:,} ids (seed {args.seed}),"
        f" generated into bitmaps in {found['generated_s']:.0f} s: the tag source of the runs",
        "", "Aims:", "", *(f"- {line}" for line in aims), "",
        f"**Inbox run.** Rule `{MAIN_AUDIENCE}`, category `{MAIN_CATEGORY}`, trigger `once`, "
        f"after {len(EARLIER_RUNS)} broadcast runs the same day ("
        + ", ".join(f"`{a}`" for _, a in EARLIER_RUNS)
        + f") with PUSH_DAILY_CAP {run['daily_cap']}: "
        f"{run['targeted']:,} targeted, {run['delivered']:,} recipients, skipped "
        + ", ".join(f"{k} {v:,}" for k, v in run["skipped"].items())
        + f"; the snapshot serialized is {run['bytes'] / 2**20:.2f} MiB. `start_run` + commit "
        f"on MariaDB {run['seconds']:.2f} s: audience snapshot {run['snapshot']:.2f} s, caps "
        f"(three earlier bitmaps read from MariaDB and counted) {run['caps']:.2f} s, write "
        f"{run['build'] + run['commit']:.2f} s (the rest of `start_run`: differences, "
        f"serializing, the row, {run['build']:.2f} s; the commit {run['commit']:.2f} s). "
        "`messages_for` shows it to "
        + ", ".join(f"{seen} of {n} {group}" for group, (seen, n) in run["inboxes"].items())
        + f" (first read {run['first_read_ms']:.0f} ms, loading the live runs; then "
        f"{run['read_ms']:.1f} ms)."]
    if "inbox_read" in found:
        live, read = found["live_runs"], found["inbox_read"]
        lines += ["", f"**Inbox read.** {live['runs']} live runs, one per tag, of "
                  f"{live['smallest']:,} to {live['largest']:,} people (median "
                  f"{live['median']:,}), {live['mib']:.0f} MiB of bitmaps over the same "
                  f"{args.users:,} ids; {args.people:,} users' tokens, gunicorn "
                  f"{args.workers} × {args.threads}, wrk {args.connections} connections, "
                  f"{args.warmup} s warm-up, {args.duration} s measured; the workers loaded "
                  f"the runs in {read['warm_s']:.1f} s and then held "
                  + "/".join(f"{mib:.0f}" for mib in read["rss"]) + " MiB resident. "
                  f"me/messages does {read['of_me']:.2f}× the requests/s of me, the floor of "
                  "every authenticated route:", "",
                  "| route | requests/s | p50 ms | p99 ms | non-2xx | worker CPU % | "
                  "others' CPU % | app/bare |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        bare = read["baseline"].measurement.requests_per_s
        for result in (read["messages"], read["me"], read["baseline"]):
            m = result.measurement
            lines.append(f"| {result.name} | {m.requests_per_s:,.0f} | {m.p50_ms:.2f} | "
                         f"{m.p99_ms:.2f} | {m.non_2xx} | {format_shares(result)} | "
                         f"{result.others_cpu_share * 100:.0f} | "
                         f"{m.requests_per_s / bare:.2f} |")
    if "wechat" in found:
        wx = found["wechat"]
        steady, fault = wx["steady"], wx["fault"]
        lines += ["", f"**WeChat.** {wx['people']:,} people consented to a long-term template"
                  f" (through app/push/consent.py and at the stub, {wx['consent_s']:.0f} s); "
                  f"the stub under gunicorn (1 worker × {STUB_THREADS} threads); "
                  f"{args.celery_workers} "
                  "workers `celery -A app.worker worker -Q push -P solo` on Redis; "
                  f"WECHAT_SENDS_PER_SECOND {args.send_rate:,} so that it does not cap the "
                  f"figure. Steady run: {steady['sent']:,} sent in {steady['chunks']} chunks, "
                  f"{steady['rate']:,.0f} sends/s from the first to the last "
                  f"({steady['elapsed_s']:.1f} s from `deliver_run` to the last outcome); "
                  f"outcomes {steady['statuses']}.",
                  "", f"Fault run: SIGKILL to one worker with {fault['settled_at_kill']:,} of "
                  f"{fault['total']:,} settled and claims open: {fault['open_at_kill']}; a new "
                  f"worker started; all settled {fault['recovered_s']:.1f} s after the kill "
                  f"(visibility timeout {args.visibility_timeout} s); the claim sweep marked "
                  f"{fault['swept']} unknown. Duplicates at the stub {fault['duplicates']}, "
                  f"lost {fault['lost']}, unknown {fault['unknown']} ({fault['unknown_taken']} "
                  f"of them taken by WeChat), recorded sent but not at the stub "
                  f"{fault['sent_unseen']}; outcomes {fault['statuses']}."]
    if "events" in found:
        ev = found["events"]
        lines += ["", f"**Event to message.** {ev['trials']} department events on the demo's "
                  "open cases (`department_event`, committed), an event rule on `case_moved`; "
                  "a worker on the default queue (prefork, 2) hands `case.moved` to the push "
                  "package, which records the applicant's run. Each trial after a random pause"
                  f" of up to {LIVE_RUNS_MAX_AGE_SECONDS:.0f} s (the inbox reads the live runs "
                  "again at most that often), `messages_for` polled every "
                  f"{EVENT_POLL_S * 1000:.0f} ms. The run recorded: p50 "
                  f"{ev['recorded']['p50']:.2f} s, p99 {ev['recorded']['p99']:.2f} s; in the "
                  f"inbox: p50 {ev['inbox']['p50']:.2f} s, p99 {ev['inbox']['p99']:.2f} s, max "
                  f"{ev['inbox']['max']:.2f} s; {ev['timeouts']} missing after "
                  f"{EVENT_TIMEOUT_S:.0f} s."]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> None:
    """Prepare, measure, report."""
    env = prepare(args)
    os.environ.update(env)  # the app made here reads it, as the servers and workers do
    from app import create_app

    with create_app().app_context():
        found = measure(args, env)
    aims = verdicts(args, found)
    print("\nAims:\n" + "\n".join(f"- {line}" for line in aims))
    if not args.no_results:
        heading = f"Push fan-out, {date.today().isoformat()}, {args.users:,} users"
        write_section(heading, report(args, found, aims))
        print(f"recorded in {RESULTS_FILE.relative_to(REPO_DIR)}")


def main(argv: list[str] | None = None) -> int:
    return run_script("fanout.py", run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
