"""Celery entry point: `celery -A app.worker worker` and `celery -A app.worker beat`."""

from app import create_app
from app.extensions import celery

flask_app = create_app()

__all__ = ["celery", "flask_app"]
