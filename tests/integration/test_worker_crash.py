"""A Celery worker killed (SIGKILL) in the middle of a task: the task runs again and its effect
happens once. Late acknowledgement puts the task back when its worker dies: at once when the
pool loses a child (reject on worker lost), after the broker's visibility timeout when the
whole worker goes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa

from app.extensions import celery, db
from app.models.integration import IntegrationEvent
from tests.conftest import SECRETS, TEST_DATABASE_URL, TEST_REDIS_URL
from tests.integration.worker_tasks import SENDER, job_key
from tests.waiting import wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not (TEST_DATABASE_URL and TEST_REDIS_URL),
                       reason="needs TEST_DATABASE_URL and TEST_REDIS_URL (real servers)"),
]
ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT_SECONDS = 3  # how long the broker waits for a dead worker's ack
BLOCK_SECONDS = 120  # the first run's "long work": far longer than the test waits


class Workers:
    """Worker processes on a queue of the test's own, each with its log file."""

    def __init__(self, folder: Path, signing_key_dir: str) -> None:
        self.queue = f"test-{uuid.uuid4().hex[:8]}"  # no other worker takes the task
        self._folder = folder
        self._env = {**os.environ, **SECRETS, "DATABASE_URL": TEST_DATABASE_URL,
                     "REDIS_URL": TEST_REDIS_URL, "SIGNING_KEY_DIR": signing_key_dir,
                     "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT_SECONDS),
                     "LOG_LEVEL": "WARNING"}
        self._started: list[subprocess.Popen] = []

    def start(self, pool: str) -> subprocess.Popen:
        log = (self._folder / f"worker-{len(self._started) + 1}.log").open("w")
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "app.worker", "worker", "--pool", pool,
             "--concurrency", "1", "--queues", self.queue,
             "--include", "tests.integration.worker_tasks", "--without-gossip",
             "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING"],
            cwd=ROOT, env=self._env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self._started.append(worker)
        return worker

    def logs(self) -> str:
        return "\n".join(path.read_text() for path in sorted(self._folder.glob("*.log")))

    def stop_all(self) -> None:
        for worker in self._started:
            if worker.poll() is None:
                worker.kill()  # SIGKILL the lot: a prefork worker's child must go too
                worker.wait(timeout=10)


@pytest.fixture
def workers(app, tmp_path: Path, signing_key_dir: str) -> Iterator[Workers]:
    started = Workers(tmp_path, signing_key_dir)
    eager, celery.conf.task_always_eager = celery.conf.task_always_eager, False  # to the broker
    yield started
    celery.conf.task_always_eager = eager
    started.stop_all()


@pytest.fixture
def counts() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True)
    yield client
    client.close()


def send_job(workers: Workers) -> str:
    job_id = uuid.uuid4().hex
    celery.send_task("test.effect_once", args=[job_id, BLOCK_SECONDS], queue=workers.queue)
    return job_id


def wait_for(counts: redis.Redis, job_id: str, what: str, workers: Workers) -> str:
    try:
        return wait_until(lambda: counts.get(job_key(job_id, what)), 60, what)
    except AssertionError as waited_in_vain:
        raise AssertionError(f"{waited_in_vain}; the workers' logs:\n{workers.logs()}") from None


def assert_ran_twice_with_one_effect(counts: redis.Redis, job_id: str) -> None:
    assert counts.get(job_key(job_id, "runs")) == "2"
    assert counts.get(job_key(job_id, "effects")) == "1"
    rows = db.session.scalars(sa.select(IntegrationEvent).where(
        IntegrationEvent.department_key_id == SENDER, IntegrationEvent.event_id == job_id))
    assert len(rows.all()) == 1


def test_a_task_whose_worker_is_killed_runs_again_on_another_and_its_effect_happens_once(
        workers, counts, app_context):
    first = workers.start("solo")
    job_id = send_job(workers)
    wait_for(counts, job_id, "blocking_pid", workers)  # mid-task, its effect committed

    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    workers.start("solo")  # takes the task back once its visibility timeout has passed

    wait_for(counts, job_id, "finished", workers)
    assert_ran_twice_with_one_effect(counts, job_id)


def test_a_task_whose_pool_process_is_killed_is_run_again_by_the_same_worker(
        workers, counts, app_context):
    workers.start("prefork")
    job_id = send_job(workers)
    child = int(wait_for(counts, job_id, "blocking_pid", workers))

    os.kill(child, signal.SIGKILL)  # the worker rejects the lost task back to the queue

    wait_for(counts, job_id, "finished", workers)
    assert_ran_twice_with_one_effect(counts, job_id)
