"""Extensions, created once here and bound to the app in `create_app`."""

from __future__ import annotations

from celery import Celery
from flask_jwt_extended import JWTManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

import app.validation_messages  # noqa: F401  (before any schema exists; see the module)
from app.api_docs import Api
from app.orm import Base
from app.redis_store import RedisStore

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
jwt = JWTManager()
api = Api()
redis_store = RedisStore()
celery = Celery("zhangshang_ban", set_as_current=False, task_cls="app.background:AppContextTask")
