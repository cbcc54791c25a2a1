"""From a change in a person's data to the audience index, through a real Celery worker.

Each trial changes one person's push preferences the way a system outside the request would
(the row written, a `user.preferences_changed` event emitted, committed), so that the tag moves
only through the worker: the event is queued on Redis, a Celery worker hands it to the push
package, which recomputes the person's tags and logs the change. The clock runs from the commit
to the moment an index in this process (following the change log as every web and worker
process does) holds the person in `optout:<category>`.

    .venv/bin/python bench/audience_latency.py [--trials 200]

Needs MariaDB and Redis; the database named (it must contain "bench") is recreated.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from datetime import datetime

from app_setup import bench_environment, flush_redis, recreate_database, run_flask
from errors import BenchError, run_script
from machine import machine_line
from paths import REPO_DIR, VENV_BIN
from results import write_section

POLL_S = 0.002
TIMEOUT_S = 10.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="mysql+pymysql://root@127.0.0.1:3306/"
                        "bench_audience_latency?charset=utf8mb4")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10",
                        help="its db is FLUSHED")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--no-results", action="store_true")
    return parser.parse_args(argv)


def start_worker(env: dict[str, str], concurrency: int) -> subprocess.Popen[bytes]:
    worker = subprocess.Popen(
        [str(VENV_BIN / "celery"), "-A", "app.worker", "worker", "-Q", "default",
         "--concurrency", str(concurrency), "--loglevel", "WARNING", "--without-heartbeat",
         "--without-gossip", "--without-mingle"],
        cwd=REPO_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(4)  # the worker's processes start and connect
    if worker.poll() is not None:
        raise BenchError("the Celery worker stopped: "
                         + (worker.stderr.read().decode()[-2000:] if worker.stderr else ""))
    return worker


def trial(user_id: int, category: str) -> float:
    """Seconds from the commit to the person being in the index's `optout:<category>`."""
    from app.extensions import db
    from app.models.tag import PushPreference
    from app.platform.events import emit
    from app.push.index import audience_index

    preference = db.session.get(PushPreference, user_id) or PushPreference(user_id=user_id)
    preference.muted_categories = [category]
    db.session.add(preference)
    emit("user.preferences_changed", user_id=user_id)
    db.session.commit()
    committed = time.perf_counter()
    index = audience_index()
    while time.perf_counter() - committed < TIMEOUT_S:
        with index.reading() as view:
            if user_id in view.bitmap(f"optout:{category}"):
                return time.perf_counter() - committed
        time.sleep(POLL_S)
    raise BenchError(f"user {user_id} not in optout:{category} after {TIMEOUT_S:.0f} s")


def run(args: argparse.Namespace) -> None:
    import os

    env = bench_environment(args.database_url, args.redis_url) | {
        "CELERY_ALWAYS_EAGER": "false"}
    flush_redis(args.redis_url)
    recreate_database(args.database_url)
    run_flask(env, "db", "upgrade")
    os.environ.update(env)
    from app import create_app
    from app.extensions import db
    from app.models import User
    from app.push.index import audience_index

    app = create_app()
    with app.app_context():
        people = [User(openid=f"bench-{n}", invite_code=f"B{n:07d}") for n in
                  range(args.trials)]
        db.session.add_all(people)
        db.session.commit()
        ids = [p.id for p in people]
        audience_index().refresh()
        worker = start_worker(env, args.concurrency)
        try:
            seconds = [trial(user_id, f"c{n % 7}") for n, user_id in enumerate(ids)]
        finally:
            worker.terminate()
            worker.wait(10)
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    figures = (f"{len(ms)} trials: p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, "
               f"max {ms[-1]:.1f} ms (aim: p99 ≤ 1,000 ms) — "
               f"{'met' if p99 <= 1000 else 'missed'}")
    print(figures)
    if not args.no_results:
        write_section(f"Audience index: change to index through Celery, "
                      f"{datetime.now():%Y-%m-%d}", "\n".join([
                          f"- machine: {machine_line()}",
                          f"- MariaDB and Redis on the same machine; one Celery worker "
                          f"(`-Q default`, concurrency {args.concurrency}) on Redis",
                          "- each trial: a preference row written with a "
                          "`user.preferences_changed` event, committed; the worker hands the "
                          "event to the push package, which recomputes the person's tags and "
                          "logs the change; the clock stops when an index in the benchmark's "
                          f"process (following the log) holds the person (polled every "
                          f"{POLL_S * 1000:.0f} ms)",
                          f"- {figures}"]))


def main(argv: list[str] | None = None) -> int:
    return run_script("audience_latency.py", run, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
