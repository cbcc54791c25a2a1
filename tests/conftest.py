"""Fixtures: the app on the embedded default, or on real MariaDB/Redis when
`TEST_DATABASE_URL` / `TEST_REDIS_URL` are set. The schema is always built by the migrations."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from app import create_app
from app.background import init_celery
from app.extensions import db

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
# Ports nothing listens on, to play an unreachable server without stopping a shared one.
CLOSED_MYSQL_URL = "mysql+pymysql://root@127.0.0.1:9/zsb?charset=utf8mb4"
CLOSED_REDIS_URL = "redis://127.0.0.1:9/0"


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


SECRETS = {
    "SECRET_KEY": "test-secret-key",
    "JWT_SECRET_KEY": "test-jwt-secret-key-of-enough-length",
    "PERSONAL_DATA_KEYS": "t1:" + _key(),
    "BLIND_INDEX_KEY": _key(),
}


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return TEST_DATABASE_URL or "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(scope="session")
def make_app(database_url: str, tmp_path_factory: pytest.TempPathFactory
             ) -> Callable[..., Flask]:
    """Build an app for tests; keyword arguments override its configuration."""

    def factory(**overrides: Any) -> Flask:
        config = {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "REDIS_URL": TEST_REDIS_URL,
            "CELERY_ALWAYS_EAGER": True,
            "DEMO_ADMIN_PASSWORD": "demo-password-for-tests",
            "LOG_FORMAT": "text",
            **SECRETS,
            **overrides,
        }
        return create_app(config)

    return factory


@pytest.fixture(scope="session")
def _session_app(make_app: Callable[..., Flask]) -> Iterator[Flask]:
    app = make_app()
    with app.app_context():
        _drop_everything()
        upgrade()
    yield app


def _drop_everything() -> None:
    """Start from an empty database so the migrations, not leftovers, make the schema."""
    db.session.remove()
    metadata = sa.MetaData()
    metadata.reflect(bind=db.engine)
    metadata.drop_all(bind=db.engine)


@pytest.fixture
def app(_session_app: Flask) -> Iterator[Flask]:
    """The migrated app; every row and Redis key a test writes is gone after it."""
    init_celery(_session_app)
    yield _session_app
    with _session_app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())
        _session_app.extensions["redis"].client.flushdb()
        _session_app.extensions["redis"].down_until = 0.0


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def app_context(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.remove()
