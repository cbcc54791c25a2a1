"""Celery bound to the Flask app: every task runs inside an app context, on a named queue."""

from __future__ import annotations

from typing import Any

from celery import Task
from flask import Flask

from app.extensions import celery, db

# Queues by task-name prefix, so push fan-out cannot starve case events and maintenance.
TASK_ROUTES = {
    "push.*": {"queue": "push"},
    "*": {"queue": "default"},
}


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
    celery.conf.update(
        broker_url=broker,
        result_backend=app.config["REDIS_URL"] or None,
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
        broker_connection_retry_on_startup=True,
    )

    celery.flask_app = app  # type: ignore[attr-defined]
    app.extensions["celery"] = celery
    import app.platform.maintenance
