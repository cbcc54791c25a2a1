"""The inbox figures of bench/fanout.py: one run over the generated province, and the inbox
read with 200 live runs over HTTP.

The run: three broadcast runs earlier the same day (so the daily cap holds back whoever had all
three), then an approved rule's `start_run(rule, trigger="once", source=…)` and its commit,
timed as a whole and, from outside the code, in its parts: the audience snapshot
(`select_audience`), the caps (`caps.capped`), the rest of `start_run` (set differences,
serializing, the row added) and the commit. Then `messages_for` of a sample of the accounts
among the ids: recipients must see the message, the muted and the held back must not.

The read: 200 live runs, one per generated tag, so their bitmaps are of every size from the
whole province down to a few hundred people, over the same ids; started over the last month
(not today: they would count towards the daily cap of later runs). Each of `--people` accounts
gets an access token, and wrk (bench/wrk_script.py) walks round their `GET /api/v1/me/messages`
under gunicorn, after the bare Flask app and `GET /api/v1/me` (the floor of any authenticated
route) with the same requests.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import re
import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from errors import BenchError
from flask import current_app
from http_load import Result
from http_load import load as load_route
from machine import cpu_sample
from pyroaring import BitMap
from servers import Server, gunicorn
from wrk_script import PreparedRequest, scripted_generator, write_requests

from app.extensions import db
from app.identity.admin_accounts import find_admin
from app.identity.sessions import start_session
from app.models import User
from app.models.push import PushRule, PushRun
from app.platform.orm import utcnow
from app.push import caps, runs
from app.push.evaluation import evaluate
from app.push.expressions import normalize
from app.push.inbox import forget_live_runs, messages_for
from app.push.index import IndexView, PatternUnions
from app.push.runs import stop_rule_runs

MAIN_AUDIENCE, MAIN_CATEGORY = "region:53 AND user:real_name", "events"
# (category, audience) of the broadcast runs made earlier the same day.
EARLIER_RUNS = (("pension", "age:60+"), ("health", "region:5301"),
                ("traffic", "cert:driving_licence"))
AIM_RUN_S = 10.0
AIM_RATIO, AIM_P99_MS = 0.5, 30.0
INBOX_SAMPLE = 20  # recipients whose inbox is read, and at most as many muted and held back
LIVE_CATEGORIES = ("events", "traffic", "pension", "health", "family", "education", "tax",
                   "enterprise", "service", "licence")
MESSAGES_PATH = "/api/v1/me/messages"
WARM_TIMEOUT_S = 300


def add_people(ids: list[int]) -> None:
    """Accounts for the given ids among the generated people (no real name, no tags)."""
    rows = [{"id": i, "openid": f"bench-{i}", "invite_code": f"B{i:010d}", "nickname": ""}
            for i in ids]
    for start in range(0, len(rows), 5000):
        db.session.execute(sa.insert(User), rows[start:start + 5000])
    db.session.commit()


def approved_rule(name: str, audience: str, category: str, **columns: Any) -> PushRule:
    """An approved, active inbox rule, written by the demo admin and approved by another."""
    author, approver = find_admin("admin"), find_admin("approver")
    values: dict[str, Any] = {
        "title": "活动通知", "body": "详情请在小程序内查看。", "reason": "",
        "target_kind": "service", "target_code": "", "channels": ["inbox"],
        "schedule_type": "once", "priority": "normal", "status": "active",
        "created_by": author.id if author else None,
        "submitted_by": author.id if author else None,
        "approved_by": approver.id if approver else None, "approved_at": utcnow()}
    rule = PushRule(name=name, audience=normalize(audience)[1], category=category,
                    **(values | columns))
    db.session.add(rule)
    db.session.commit()
    return rule


def stop_runs(rule_ids: list[int]) -> None:
    """The kill switch on these rules' runs: they leave the inboxes and no longer count
    towards caps."""
    for rule_id in rule_ids:
        stop_rule_runs(rule_id)
    db.session.commit()


def sample_people(users: int, count: int, seed: int) -> list[int]:
    """`count` ids of 1..users that have no account yet."""
    taken = set(db.session.scalars(sa.select(User.id)))
    drawn = random.Random(seed).sample(range(1, users + 1), min(users, count + len(taken)))
    return sorted([i for i in drawn if i not in taken][:count])


@contextlib.contextmanager
def timed(module: Any, name: str, spent: dict[str, float]) -> Iterator[None]:
    """Add the time of every call of `module.name` to spent[name] while the block runs: the
    code is measured from outside, unchanged."""
    original: Callable[..., Any] = getattr(module, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

    setattr(module, name, wrapper)
    try:
        yield
    finally:
        setattr(module, name, original)


def inbox_run(index: dict[str, BitMap], people: list[int]) -> dict[str, Any]:
    """The earlier runs, then the timed one; a sample's inboxes."""
    view = IndexView(index, 0, PatternUnions())
    now = utcnow()
    rules = []
    for number, (category, audience) in enumerate(EARLIER_RUNS):
        rules.append(approved_rule(f"早前推送{number + 1}", audience, category))
        earlier = max(caps.day_start(now), now - timedelta(seconds=30 - 10 * number))
        runs.start_run(rules[-1], trigger="once", source=view, now=earlier)
        db.session.commit()
    rule = approved_rule("全省实名用户活动通知", MAIN_AUDIENCE, MAIN_CATEGORY)
    print(f"inbox run: `{MAIN_AUDIENCE}` (category {MAIN_CATEGORY}) after "
          f"{len(EARLIER_RUNS)} broadcast runs today", flush=True)
    spent: dict[str, float] = {}
    with timed(runs, "select_audience", spent), timed(caps, "capped", spent):
        started = time.perf_counter()
        run = runs.start_run(rule, trigger="once", source=view)
        made = time.perf_counter()
        db.session.commit()
        done = time.perf_counter()
    if run is None:
        raise BenchError("the inbox rule's run was not made")
    f: dict[str, Any] = {
        "seconds": done - started, "snapshot": spent["select_audience"],
        "caps": spent["capped"], "build": made - started - sum(spent.values()),
        "commit": done - made, "targeted": run.targeted, "delivered": run.delivered,
        "skipped": {k: v for k, v in run.skipped.items() if v}, "bytes": len(run.recipients),
        "rule_ids": [r.id for r in [*rules, rule]],
        "daily_cap": current_app.config["PUSH_DAILY_CAP"]}
    f["met"] = f["seconds"] <= AIM_RUN_S
    print(f"  {run.delivered:,} recipients of {run.targeted:,} targeted, skipped "
          f"{f['skipped']}; {f['bytes'] / 2**20:.3f} MiB serialized; {f['seconds']:.3f} s "
          f"(snapshot {f['snapshot']:.3f}, caps {f['caps']:.3f}, rest of start_run "
          f"{f['build']:.3f}, commit {f['commit']:.3f})", flush=True)
    f.update(sample_inboxes(view, runs.recipients_of(run), run.id, people))
    return f


def sample_inboxes(view: IndexView, recipients: BitMap, run_id: int,
                   people: list[int]) -> dict[str, Any]:
    """Whether the message shows in the inboxes of recipients, the muted and the held back."""
    audience = evaluate(normalize(MAIN_AUDIENCE)[0], view)
    muted = audience & view.bitmap(f"optout:{MAIN_CATEGORY}")
    groups = {"recipients": [u for u in people if u in recipients],
              "muted": [u for u in people if u in muted],
              "held back": [u for u in people if u in audience and u not in muted
                            and u not in recipients]}
    forget_live_runs()
    shown: dict[str, tuple[int, int]] = {}
    read_ms = []
    for group, ids in groups.items():
        seen = 0
        for user_id in ids[:INBOX_SAMPLE]:
            started = time.perf_counter()
            items = messages_for(db.session.get(User, user_id)).items
            read_ms.append((time.perf_counter() - started) * 1000)
            seen += any(item["id"] == str(run_id) for item in items)
        shown[group] = (seen, len(ids[:INBOX_SAMPLE]))
    recipients_seen, sampled = shown["recipients"]
    figures = {"inboxes": shown, "inbox_ok": 0 < recipients_seen == sampled
               and not shown["muted"][0] and not shown["held back"][0],
               "first_read_ms": read_ms[0] if read_ms else 0.0,
               "read_ms": statistics.median(read_ms[1:]) if len(read_ms) > 1 else 0.0}
    print("  showing it, of the inboxes read: " + ", ".join(
        f"{group} {seen} of {count}" for group, (seen, count) in shown.items())
        + f" (first read {figures['first_read_ms']:.0f} ms, loading the live runs; then "
        f"{figures['read_ms']:.1f} ms)", flush=True)
    return figures


def live_runs_from(index: dict[str, BitMap]) -> dict[str, Any]:
    """A done run of its own rule for each tag, started over the last month; sizes."""
    started = time.perf_counter()
    now = utcnow()
    sizes = []
    for number, (tag, members) in enumerate(sorted(index.items())):
        rule = approved_rule(f"在推规则{number + 1}", tag,
                             LIVE_CATEGORIES[number % len(LIVE_CATEGORIES)],
                             title=f"第{number + 1}条通知", schedule_type="cron",
                             cron="0 9 * * *")
        at = now - timedelta(days=1 + number % 29, minutes=number)
        blob = members.serialize()
        db.session.add(PushRun(rule_id=rule.id, trigger="cron", status="done",
                               title=rule.title, body=rule.body, category=rule.category,
                               recipients=blob, targeted=len(members), delivered=len(members),
                               skipped={}, started_at=at, finished_at=at))
        db.session.commit()
        sizes.append((len(members), len(blob)))
    counts = sorted(size for size, _ in sizes)
    figures = {"runs": len(sizes), "seconds": time.perf_counter() - started,
               "smallest": counts[0], "median": counts[len(counts) // 2],
               "largest": counts[-1], "mib": sum(b for _, b in sizes) / 2**20}
    print(f"{figures['runs']} live runs of {figures['smallest']:,} to {figures['largest']:,} "
          f"people (median {figures['median']:,}), {figures['mib']:.0f} MiB of bitmaps, "
          f"written in {figures['seconds']:.0f} s", flush=True)
    return figures


def tokens_of(people: list[int]) -> dict[int, str]:
    """An access token for each account."""
    tokens = {}
    for start in range(0, len(people), 1000):
        for user in db.session.scalars(sa.select(User).where(
                User.id.in_(people[start:start + 1000]))):
            tokens[user.id] = start_session(user).access_token
    db.session.commit()
    return tokens


def fetch(server: Server, request: PreparedRequest, timeout: float) -> dict[str, Any]:
    """One authenticated GET; its JSON, or a BenchError with the body."""
    connection = http.client.HTTPConnection(server.url.split("//")[1], timeout=timeout)
    try:
        connection.request("GET", request.path,
                           headers={"Authorization": f"Bearer {request.token}"})
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise BenchError(f"GET {request.path} answered {response.status}: {body[:500]!r}")
    return json.loads(body)


def warm(server: Server, requests: list[PreparedRequest], connections: int) -> None:
    """Enough requests at once that every worker loads the live runs before wrk starts."""
    with ThreadPoolExecutor(connections) as pool:
        for _ in range(2):
            answers = list(pool.map(lambda r: fetch(server, r, WARM_TIMEOUT_S),
                                    requests[:connections]))
    if not any(answer["total"] for answer in answers):
        raise BenchError("no inbox of the HTTP users shows a message")


def resident_mib(master_pid: int) -> list[float]:
    """VmRSS of each gunicorn worker, MiB."""
    found = []
    for pid in cpu_sample(master_pid).workers_s:
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{pid}/status").read_text()
            kib = next(line.split()[1] for line in status.splitlines()
                       if line.startswith("VmRSS:"))
            found.append(int(kib) / 1024)
    return found


def measured(server: Server, name: str, requests: list[PreparedRequest], args: Any,
             work_dir: Path) -> Result:
    """One route over its prepared requests, as bench/cases.py loads them."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    file = write_requests(work_dir / f"requests-{slug}.tsv", requests)
    return load_route(scripted_generator(file, work_dir), server, name, "/", args)


def inbox_read(args: Any, env: dict[str, str], people: list[int],
               work_dir: Path) -> dict[str, Any]:
    """`GET /api/v1/me/messages` and its references under load."""
    tokens = tokens_of(people)
    inbox = [PreparedRequest("GET", MESSAGES_PATH, tokens[u]) for u in people]
    settings = {"workers": args.workers, "threads": args.threads,
                "max_requests": args.max_requests, "log_dir": work_dir / "servers"}
    with (gunicorn("wsgi:app", env, **settings) as app_server,
          gunicorn("bench.bare_app:app", env, **settings) as bare_server):
        started = time.perf_counter()
        warm(app_server, inbox, 2 * args.workers * args.threads)
        warm_s = time.perf_counter() - started
        print(f"HTTP: workers loaded the live runs in {warm_s:.1f} s; loading with wrk "
              f"({args.workers} workers × {args.threads} threads)", flush=True)
        baseline = measured(bare_server, "bare (baseline)",
                            [replace(r, path="/") for r in inbox], args, work_dir)
        me = measured(app_server, "me (reference)",
                      [replace(r, path="/api/v1/me") for r in inbox], args, work_dir)
        messages = measured(app_server, f"me/messages ({len(people):,} users)", inbox, args,
                            work_dir)
        rss = resident_mib(app_server.pid)
    bare_rate = baseline.measurement.requests_per_s
    m = messages.measurement
    figures = {"baseline": baseline, "me": me, "messages": messages, "warm_s": warm_s,
               "rss": rss, "ratio": m.requests_per_s / bare_rate if bare_rate else 0.0,
               "of_me": m.requests_per_s / max(me.measurement.requests_per_s, 1e-9)}
    figures["met"] = (figures["ratio"] >= AIM_RATIO and m.p99_ms <= AIM_P99_MS
                      and not m.non_2xx)
    for result in (messages, me, baseline):
        r = result.measurement
        print(f"  {result.name}: {r.requests_per_s:,.0f} requests/s "
              f"({r.requests_per_s / bare_rate:.2f}× bare), p50 {r.p50_ms:.1f} ms, p99 "
              f"{r.p99_ms:.1f} ms, {r.non_2xx} non-2xx", flush=True)
    print("  workers resident " + "/".join(f"{mib:.0f}" for mib in rss) + " MiB", flush=True)
    return figures
