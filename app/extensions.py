"""Extensions, created once here and bound to the app in `create_app` (the Api lives in app.api)."""

from __future__ import annotations

from celery import Celery
from flask_jwt_extended import JWTManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from app.platform.orm import Base
from app.platform.redis_store import RedisStore

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
jwt = JWTManager()
redis_store = RedisStore()
celery = Celery("zhangshang_ban", set_as_current=False,
                task_cls="app.platform.tasks:AppContextTask")
