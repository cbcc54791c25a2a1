"""The WeChat figures of bench/fanout.py, and the Celery workers it starts.

Sends per second: `--wechat-recipients` registered people consent to a long-term template, with
us (app/push/consent.py) and at the stub WeChat server (mini_program_stub, served by gunicorn
from its app factory), which keeps its own count as WeChat does. An approved rule with the
WeChat channel runs over them (`start_run` on a tag source of those people), and `deliver_run`
queues the run's chunks on the `push` queue, where `--celery-workers` Celery workers of one
process each (`celery -A app.worker worker -Q push -P solo`) on Redis claim and send each
message. The rate is the sends WeChat took, over the time from the first to the last.

The fault: a second run over the same people. Once `--kill-at` of it has an outcome, one worker
gets SIGKILL and a new worker starts. The chunk the dead worker held comes back from Redis after
the broker's visibility timeout (`--visibility-timeout`); the claims it left open are marked
`unknown` by the claim sweep, run here as the minute's task would run it once they are
CLAIM_TIMEOUT old. Then, from the stub's record of what it took and from the send rows:
duplicates (a person who got the run's message more than once), losses (a recipient without an
outcome) and `unknown` claims, against the claims open at the kill.

The template is long-term on purpose: the stub takes every send of it, so a second send would
show in its record, where a one-time template's second send would be refused and hidden.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from errors import BenchError
from paths import BENCH_DIR, REPO_DIR, VENV_BIN
from pyroaring import BitMap
from servers import gunicorn

from app.extensions import db
from app.models import User
from app.models.catalog import ServiceItem
from app.models.push import PushRule, PushRun
from app.models.push_delivery import PushSend
from app.platform.orm import utcnow
from app.push import consent, wechat_delivery
from app.push.expressions import normalize
from app.push.index import UNIVERSE_TAG, IndexView
from app.push.runs import recipients_of, start_run
from app.push.wechat_delivery import deliver_run
from app.push.wechat_sends import CLAIM_TIMEOUT, sweep

WORK_DIR = BENCH_DIR / ".work" / "fanout"
STUB_APP = "mini_program_stub.wechat_server:create_stub_app()"
STUB_THREADS = 8
TEMPLATE = "tpl-service-reminder"  # long-term at the stub and in the app's default config
TEMPLATE_DATA = {"thing1": "{service_name}", "thing2": "请及时办理", "date3": "{date}"}
AUDIENCE_TAG = "group:bench_wechat"
AIM_SENDS_PER_S = 1000
WORKER_START_S = 60.0
POLL_S = 0.25
CREDIT_CONNECTIONS = 4
# Outcomes a recipient's send may end with; anything else is still under way.
OUTCOMES = ("sent", "unknown", "failed", "no_consent", "muted", "opted_out", "deferred")


@dataclass(frozen=True)
class Worker:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def busy(self) -> bool:
        """Whether it holds a task it has not finished, by its log (Celery's INFO lines)."""
        log = self.log_path.read_text(errors="replace")
        return log.count("] received") > log.count("] succeeded") + log.count("] raised")


def start_worker(env: dict[str, str], name: str, queues: str, *,
                 concurrency: int = 1) -> Worker:
    """A Celery worker on `queues`: one process (`-P solo`), or a prefork pool of
    `concurrency`; returns once its log says it is ready."""
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    log_path = WORK_DIR / f"worker-{name}.log"
    pool = ["-P", "solo"] if concurrency == 1 else ["--concurrency", str(concurrency)]
    command = [str(VENV_BIN / "celery"), "-A", "app.worker", "worker", "-Q", queues, *pool,
               "-n", f"{name}@%h", "--loglevel", "INFO", "--without-heartbeat",
               "--without-gossip", "--without-mingle"]
    with log_path.open("w") as log:
        # Its own session: a Ctrl-C reaches the benchmark, which stops the workers in order.
        process = subprocess.Popen(command, cwd=REPO_DIR, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    worker = Worker(name, process, log_path)
    deadline = time.monotonic() + WORKER_START_S
    while "ready." not in log_path.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_worker(worker)
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
            raise BenchError(f"Celery worker {name} did not start:\n{tail}")
        time.sleep(0.2)
    return worker


def stop_worker(worker: Worker) -> None:
    """A warm shutdown (the task at hand finishes), then SIGKILL to its session if it lingers."""
    process = worker.process
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def add_people(count: int, first_id: int) -> dict[int, str]:
    """`count` registered people with openids (no real name) from `first_id` on, above the
    generated ids (whose runs would otherwise cap them): their ids and openids."""
    first_id = max(first_id, (db.session.scalar(sa.select(sa.func.max(User.id))) or 0) + 1)
    rows = [{"id": first_id + n, "openid": f"bench-wx-{n}", "invite_code": f"W{n:09d}",
             "nickname": ""} for n in range(count)]
    for start in range(0, count, 5000):
        db.session.execute(sa.insert(User), rows[start:start + 5000])
    db.session.commit()
    return dict(db.session.execute(sa.select(User.id, User.openid).where(
        User.openid.like("bench-wx-%"))).tuples().all())


def grant_consent(people: dict[int, str], stub_url: str) -> None:
    """Each person accepts the template once: recorded through the domain, and at the stub."""
    for number, user_id in enumerate(people, start=1):
        consent.record(user_id, TEMPLATE, "accept")
        if number % 500 == 0:
            db.session.commit()
    db.session.commit()
    parts = urlsplit(stub_url)

    def put_credits(openids: list[str]) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        try:
            for openid in openids:
                body = json.dumps({"openid": openid, "template_id": TEMPLATE, "credits": 1})
                connection.request("PUT", "/_stub/subscriptions", body,
                                   {"Content-Type": "application/json"})
                response = connection.getresponse()
                answer = response.read()
                if response.status != 200:
                    raise BenchError(f"the stub refused credits: {answer[:300]!r}")
        finally:
            connection.close()

    openids = list(people.values())
    shares = [openids[n::CREDIT_CONNECTIONS] for n in range(CREDIT_CONNECTIONS)]
    with ThreadPoolExecutor(CREDIT_CONNECTIONS) as pool:
        list(pool.map(put_credits, shares))


def wechat_rule() -> PushRule:
    """An approved rule with the inbox and WeChat channels, leading to a catalog item."""
    item_code = db.session.scalar(sa.select(ServiceItem.code).order_by(ServiceItem.id).limit(1))
    rule = PushRule(name="微信送达压测", audience=normalize(AUDIENCE_TAG)[1], category="service",
                    reason="", title="办事提醒", body="可在线办理。", target_kind="service",
                    target_code=item_code or "", channels=["inbox", "wechat"],
                    wechat_template_id=TEMPLATE, wechat_data=dict(TEMPLATE_DATA),
                    schedule_type="once", priority="normal", status="active",
                    approved_at=utcnow())
    db.session.add(rule)
    db.session.commit()
    return rule


def new_run(rule: PushRule, people: BitMap) -> PushRun:
    """A run of the rule over `people` (its audience's tag), committed."""
    run = start_run(rule, trigger="once",
                    source=IndexView({UNIVERSE_TAG: people, AUDIENCE_TAG: people}, 0))
    if run is None or run.delivered != len(people):
        raise BenchError(f"the WeChat run reaches {run.delivered if run else 0:,} of "
                         f"{len(people):,} people")
    db.session.commit()
    return run


def outcomes(run_id: int, claimed_since: Any = None) -> Counter[str]:
    """The run's sends by status, read afresh; `live_claims`: claims made since the moment
    given (all claims without one)."""
    db.session.rollback()
    found: Counter[str] = Counter(dict(db.session.execute(
        sa.select(PushSend.status, sa.func.count()).where(PushSend.run_id == run_id)
        .group_by(PushSend.status)).tuples().all()))
    live = sa.select(sa.func.count()).where(PushSend.run_id == run_id,
                                            PushSend.status == "claimed")
    if claimed_since is not None:
        live = live.where(PushSend.claimed_at >= claimed_since)
    found["live_claims"] = db.session.scalar(live) or 0
    return found


def settled(found: Counter[str]) -> int:
    return sum(found[status] for status in OUTCOMES)


def wait_until_settled(run_id: int, total: int, timeout_s: float,
                       claimed_since: Any = None) -> Counter[str]:
    """Poll until every recipient has a send row and no live claim or busy retry is left."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = outcomes(run_id, claimed_since)
        rows = sum(n for status, n in found.items() if status != "live_claims")
        if rows >= total and not found["live_claims"] and not found["busy"]:
            return found
        if time.monotonic() > deadline:
            raise BenchError(f"run {run_id}: {dict(found)} of {total} after {timeout_s:.0f} s; "
                             f"worker logs in {WORK_DIR}")
        time.sleep(POLL_S)


def send_span(run_id: int) -> tuple[int, float]:
    """The run's sends WeChat took, and the seconds from the first to the last."""
    count, first, last = db.session.execute(sa.select(
        sa.func.count(), sa.func.min(PushSend.sent_at), sa.func.max(PushSend.sent_at)).where(
        PushSend.run_id == run_id, PushSend.status == "sent")).one()
    return count, (last - first).total_seconds() if count > 1 else 0.0


def stub_sends(stub_url: str, run_id: int) -> Counter[str]:
    """How many messages of the run the stub took, by openid (the run id is in each page)."""
    parts = urlsplit(stub_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:  # tens of thousands of messages: longer than servers.get waits
        connection.request("GET", "/_stub/messages")
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise BenchError(f"the stub's messages answered {response.status}")
    taken: Counter[str] = Counter()
    for message in json.loads(body)["messages"]:
        query = parse_qs(urlsplit(message.get("page") or "").query)
        if query.get("message") == [str(run_id)]:
            taken[message["touser"]] += 1
    return taken


def steady_run(rule: PushRule, people: BitMap, args: Any) -> dict[str, Any]:
    """One run sent by the workers undisturbed: sends/s and what became of each person."""
    run = new_run(rule, people)
    started = time.perf_counter()
    chunks = deliver_run(run.id)
    db.session.commit()
    found = wait_until_settled(run.id, len(people), 120 + len(people) / 20)
    elapsed = time.perf_counter() - started
    sent, span = send_span(run.id)
    rate = (sent - 1) / span if span > 0 else 0.0
    print(f"  {sent:,} of {len(people):,} sent in {chunks} chunks: {rate:,.0f} sends/s from the "
          f"first to the last ({elapsed:.1f} s from deliver_run to the last outcome)", flush=True)
    return {"run_id": run.id, "chunks": chunks, "sent": sent, "span_s": span, "rate": rate,
            "elapsed_s": elapsed, "statuses": _statuses(found)}


def fault_run(rule: PushRule, people: BitMap, workers: list[Worker], env: dict[str, str],
              args: Any, stub_url: str, openids: dict[int, str]) -> dict[str, Any]:
    """A run during which one worker is killed with SIGKILL and a new one started."""
    total = len(people)
    run = new_run(rule, people)
    deliver_run(run.id)
    db.session.commit()
    deadline = time.monotonic() + 120 + total / 20
    while settled(found := outcomes(run.id)) < args.kill_at * total:
        if time.monotonic() > deadline:
            raise BenchError(f"run {run.id} did not get to the kill: {dict(found)}")
        time.sleep(0.05)
    # One in the middle of a chunk (with few chunks, the other may be idle).
    victim = next((worker for worker in workers if worker.busy()), workers[0])
    os.kill(victim.process.pid, signal.SIGKILL)
    victim.process.wait(timeout=10)
    killed_at, killed = utcnow(), time.perf_counter()
    at_kill = outcomes(run.id)
    print(f"  worker {victim.name} killed with {settled(at_kill):,} of {total:,} settled and "
          f"claims open: {at_kill['claimed']}; starting a new worker", flush=True)
    workers.append(start_worker(env, f"push-{len(workers)}", "push"))
    found = wait_until_settled(run.id, total, args.visibility_timeout + 120 + total / 20,
                               claimed_since=killed_at)
    recovered_s = time.perf_counter() - killed
    # The minute's task, once the dead worker's claims are CLAIM_TIMEOUT old.
    swept = sweep(now=utcnow() + CLAIM_TIMEOUT + timedelta(seconds=1))
    db.session.commit()
    found = outcomes(run.id)
    rows = dict(db.session.execute(sa.select(PushSend.user_id, PushSend.status).where(
        PushSend.run_id == run.id)).tuples().all())
    taken = stub_sends(stub_url, run.id)
    recipients = recipients_of(run)
    lost = [u for u in recipients if rows.get(u) not in OUTCOMES]
    sent_unseen = sum(1 for u, s in rows.items() if s == "sent" and not taken[openids[u]])
    unknown_taken = sum(1 for u, s in rows.items() if s == "unknown" and taken[openids[u]])
    figures = {
        "run_id": run.id, "total": total, "settled_at_kill": settled(at_kill),
        "open_at_kill": at_kill["claimed"], "recovered_s": recovered_s, "swept": swept,
        "duplicates": sum(1 for n in taken.values() if n > 1), "lost": len(lost),
        "unknown": found["unknown"], "unknown_taken": unknown_taken, "sent_unseen": sent_unseen,
        "statuses": _statuses(found)}
    figures["met"] = (not figures["duplicates"] and not figures["lost"] and not sent_unseen
                      and figures["unknown"] <= figures["open_at_kill"])
    print(f"  finished {recovered_s:.1f} s after the kill: {figures['duplicates']} duplicates, "
          f"{figures['lost']} lost, {figures['unknown']} unknown ({unknown_taken} of them taken "
          f"by WeChat), {sent_unseen} recorded sent but not at the stub", flush=True)
    return figures


def _statuses(found: Counter[str]) -> dict[str, int]:
    return {status: n for status, n in sorted(found.items()) if status != "live_claims" and n}


def wechat_figures(args: Any, env: dict[str, str]) -> dict[str, Any]:
    """Consent, the stub, the workers; a steady run, then the fault run."""
    if args.chunk_size:
        # Read where the runs are split, in this process (`deliver_run`).
        wechat_delivery.CHUNK_SIZE = args.chunk_size
    print(f"WeChat: {args.wechat_recipients:,} people consenting", flush=True)
    openids = add_people(args.wechat_recipients, args.users + 1)
    people = BitMap(openids)
    with gunicorn(STUB_APP, env, workers=1, threads=STUB_THREADS, max_requests=0,
                  log_dir=WORK_DIR) as stub:
        started = time.perf_counter()
        grant_consent(openids, stub.url)
        consent_s = time.perf_counter() - started
        worker_env = env | {"WECHAT_API_BASE": stub.url}
        print(f"  consent recorded in {consent_s:.1f} s; starting {args.celery_workers} "
              "workers on the push queue", flush=True)
        workers: list[Worker] = []
        try:
            for number in range(args.celery_workers):
                workers.append(start_worker(worker_env, f"push-{number}", "push"))
            rule = wechat_rule()
            steady = steady_run(rule, people, args)
            faulted = fault_run(rule, people, workers, worker_env, args, stub.url, openids)
        finally:
            for worker in workers:
                stop_worker(worker)
    return {"people": len(people), "consent_s": consent_s, "steady": steady, "fault": faulted,
            "chunk_size": wechat_delivery.CHUNK_SIZE,
            "steady_met": steady["rate"] >= AIM_SENDS_PER_S}
