"""A real Celery worker process, on the real Redis broker, runs a task in the app context."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from app.extensions import celery
from tests.conftest import SECRETS, TEST_DATABASE_URL, TEST_REDIS_URL

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not (TEST_DATABASE_URL and TEST_REDIS_URL),
                    reason="needs TEST_DATABASE_URL and TEST_REDIS_URL (real servers)")
def test_worker_process_completes_a_task(app, tmp_path, signing_key_dir):
    queue = f"test-{uuid.uuid4().hex[:8]}"  # a queue of its own: no other worker takes the task
    env = {**os.environ, **SECRETS, "DATABASE_URL": TEST_DATABASE_URL,
           "REDIS_URL": TEST_REDIS_URL, "SIGNING_KEY_DIR": signing_key_dir,
           "LOG_LEVEL": "WARNING"}
    log_file = tmp_path / "worker.log"
    with log_file.open("w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "app.worker", "worker", "--pool", "solo",
             "--concurrency", "1", "--queues", queue, "--without-gossip", "--without-mingle",
             "--loglevel", "WARNING"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        celery.conf.task_always_eager = False
        token = uuid.uuid4().hex
        result = celery.send_task("system.ping", args=[token], queue=queue)
        answer = result.get(timeout=60)
    except Exception:
        raise AssertionError("worker did not answer; its log:\n" + log_file.read_text()) from None
    finally:
        celery.conf.task_always_eager = True
        worker.terminate()
        worker.wait(timeout=30)
    assert answer["token"] == token
    assert answer["database"] == "ok"
    assert answer["app"] == "app"


def test_tasks_run_eagerly_inside_the_app_in_embedded_mode(app):
    from app.platform.maintenance import ping

    result = ping.delay("eager").get(timeout=5)
    assert result["token"] == "eager"
    assert result["database"] == "ok"
