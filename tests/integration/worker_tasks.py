"""A task for the worker-crash tests, loaded into a worker with `--include`: it counts its runs
where a crash cannot undo them (Redis), does its effect once by the job's id (a row), and on
its first run blocks until it is killed."""

from __future__ import annotations

import os
import time

from app.extensions import celery, db, redis_store
from app.platform.idempotency import once

SENDER = "worker-test"


def job_key(job_id: str, what: str) -> str:
    return f"test:job:{job_id}:{what}"


@celery.task(name="test.effect_once", ignore_result=True)
def effect_once(job_id: str, block_seconds: float) -> None:
    """Count the run, do the effect once, then block on the first run only."""
    redis = redis_store.client
    run = redis.incr(job_key(job_id, "runs"))

    def act() -> tuple[int, dict[str, str]]:
        redis.incr(job_key(job_id, "effects"))
        return 200, {"job": job_id}

    once(SENDER, job_id, "test.effect", act)
    # Committed before the long part, as a task that goes on to call out would: a crash now
    # leaves the effect done, and only the id keeps the run after it from doing it again.
    db.session.commit()
    if run == 1:
        redis.set(job_key(job_id, "blocking_pid"), os.getpid())
        time.sleep(block_seconds)
    redis.incr(job_key(job_id, "finished"))
