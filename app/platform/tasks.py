"""Celery bound to the Flask app: every task runs inside an app context, on a named queue."""

from __future__ import annotations

import logging
from typing import Any

import kombu.exceptions
import redis
from celery import Task
from celery.schedules import crontab
from flask import Flask

from app.extensions import celery, db

log = logging.getLogger(__name__)

# Queues by task-name prefix, so push fan-out cannot starve case events and maintenance.
TASK_ROUTES = {
    "push.*": {"queue": "push"},
    "*": {"queue": "default"},
}
# What `celery beat` starts, in Celery's timezone (UTC, below).
BEAT_SCHEDULE = {
    # 03:30 China time (UTC+8), the quietest hour.
    "purge-expired-daily": {"task": "maintenance.purge_expired",
                            "schedule": crontab(hour=19, minute=30)},
    # Domain events whose hand-over after commit was lost: late by a minute, never lost.
    "sweep-events": {"task": "events.sweep", "schedule": 60.0},
    # Cases past their due time are marked overdue (and say so) within ten minutes.
    "mark-overdue-cases": {"task": "cases.mark_overdue", "schedule": 600.0},
    # Tags whose expiry passed leave audiences within a minute.
    "expire-tags": {"task": "tags.expire", "schedule": 60.0},
    # 00:05 China time: age bands and certificate expiry windows that the new day moves.
    "daily-tags": {"task": "tags.daily", "schedule": crontab(hour=16, minute=5)},
    # The shared snapshot new processes load the audience index from.
    "audience-snapshot": {"task": "audience.snapshot", "schedule": 300.0},
    # 03:40 China time: the change log beyond the week it is kept.
    "prune-tag-log": {"task": "tags.prune_log", "schedule": crontab(hour=19, minute=40)},
    # Scheduled push rules run within 30 seconds of their time.
    "push-run-due": {"task": "push.run_due", "schedule": 30.0},
    # People who gain a tag a rule watches hear within seconds.
    "push-tag-gains": {"task": "push.follow_tag_gains", "schedule": 5.0},
    # 09:00 China time, not at night: reminders of certificates expiring N days ahead.
    "push-certificate-expiring": {"task": "push.certificate_expiring",
                                  "schedule": crontab(hour=1, minute=0)},
    # WeChat messages held by quiet hours go out within a minute of their end.
    "push-send-deferred": {"task": "push.send_deferred", "schedule": 60.0},
    # WeChat sends claimed by a worker that died: marked unknown, never sent twice.
    "push-sweep-wechat-claims": {"task": "push.sweep_wechat_claims", "schedule": 60.0},
}
QUICK_PUBLISH = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                 "interval_max": 0.2}


class AppContextTask(Task):
    """Runs the task in the bound app's context, as one transaction committed at the end."""

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        with self.app.flask_app.app_context():
            try:
                result = self.run(*args, **kwargs)
                db.session.commit()
                return result
            except BaseException:
                db.session.rollback()
                raise


def init_celery(app: Flask) -> None:
    """Configure the shared Celery app from the Flask config and tie its tasks to `app`."""
    broker = app.config["CELERY_BROKER_URL"] or app.config["REDIS_URL"] or "memory://"
    results = app.config["REDIS_URL"] or None
    if (celery.conf.broker_url, celery.conf.result_backend) != (broker, results):
        _forget_connections()
    celery.conf.update(
        broker_url=broker,
        result_backend=results,
        task_always_eager=app.config["CELERY_ALWAYS_EAGER"],
        task_eager_propagates=True,
        task_routes=TASK_ROUTES,
        task_default_queue="default",
        task_acks_late=True,  # a task whose worker died is delivered again, not lost
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=3600,
        timezone="UTC",
        beat_schedule=BEAT_SCHEDULE,
        broker_connection_retry_on_startup=True,
        broker_transport_options=_transport_options(app.config["CELERY_VISIBILITY_TIMEOUT"]),
    )

    celery.flask_app = app  # type: ignore[attr-defined]
    app.extensions["celery"] = celery
    # Importing registers the tasks; events also start listening to the session's commits.
    from app.platform import events, maintenance  # noqa: F401

    events.init_events()


def _forget_connections() -> None:
    """Stop using the previous broker's pools and result store, which Celery would otherwise
    keep after its configuration names others (an app built after another in one process).
    Kombu keeps pools by URL, so an app on the previous broker finds its pool again."""
    celery._pool = None
    celery.amqp._producer_pool = None
    celery._backend_cache = None
    vars(celery._local).pop("backend", None)  # a result store not shared between threads


def _transport_options(visibility_timeout: int) -> dict[str, int]:
    """Redis broker options: a task taken by a worker that then died (acked late, never
    acked) goes back to the queue `visibility_timeout` seconds after it was taken."""
    return {
        "visibility_timeout": visibility_timeout,
        # Look for such tasks every few seconds rather than kombu's ~100 s, so the delay is
        # about the timeout; each look is one sorted-set read under a short lock.
        "unacked_restore_interval": max(1, min(10, visibility_timeout // 4)),
        "unacked_restore_throttle": 1,
    }


def enqueue_optional(task: Task, *args: Any) -> bool:
    """Queue a task whose loss is harmless; False, logged, when the broker cannot take it now.

    No result is kept (nobody waits for one) and publishing is tried twice, so a broker outage
    costs the request one refused connection instead of the result store's retries (~20 s).
    """
    try:
        task.apply_async(args, ignore_result=True, retry_policy=QUICK_PUBLISH)
    except (kombu.exceptions.OperationalError, redis.RedisError) as exc:
        log.warning("task %s not queued, broker unavailable: %s", task.name, type(exc).__name__)
        return False
    return True
