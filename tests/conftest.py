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
from app.extensions import db
from app.platform.local_views import reset_local_views
from app.platform.tasks import init_celery
from mini_program_stub.wechat_server import StubServer
from tests import personal_numbers

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
# Ports nothing listens on, to play an unreachable server without stopping a shared one.
CLOSED_MYSQL_URL = "mysql+pymysql://root@127.0.0.1:9/zsb?charset=utf8mb4"
CLOSED_REDIS_URL = "redis://127.0.0.1:9/0"
# The keys every error answer carries (DESIGN.md, rule 1); `errors` only when fields are named.
ERROR_SHAPE = frozenset({"code", "status", "error", "message", "request_id"})


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


SECRETS = {
    "SECRET_KEY": "test-secret-key",
    "JWT_SECRET_KEY": "test-jwt-secret-key-of-enough-length",
    "PERSONAL_DATA_KEYS": "t1:" + _key(),
    "BLIND_INDEX_KEY": _key(),
    "WECHAT_SECRET": "wx-demo-secret",  # the stub's demo pair
    "DEPARTMENT_KEYS": "test-dept:" + _key(),
}


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return TEST_DATABASE_URL or "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")


DEMO_ADMIN_PASSWORD = "demo-password-for-tests"


def pytest_configure(config: pytest.Config) -> None:
    personal_numbers.start_capturing_logs()
    personal_numbers.remember_secrets([*SECRETS.values(), DEMO_ADMIN_PASSWORD])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    leaks = personal_numbers.leaks_in_captured_logs()
    if leaks:
        print("\nPERSONAL DATA IN LOGS: clear personal numbers or secrets were logged in:\n  "
              + "\n  ".join(leaks))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def wechat_stub() -> Iterator[StubServer]:
    """The stub WeChat server over real HTTP, shared by the suite and reset for each test."""
    with StubServer() as server:
        yield server


@pytest.fixture(scope="session")
def signing_key_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A folder holding one presentation-signing key, as operators provide it."""
    from app.certificates.signing import write_key
    from app.certificates.tokens import generate_signing_key

    folder = tmp_path_factory.mktemp("signing-keys")
    write_key(folder, generate_signing_key())
    return str(folder)


@pytest.fixture(scope="session")
def make_app(database_url: str, wechat_stub: StubServer, signing_key_dir: str,
             tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Flask]:
    """Build an app for tests; keyword arguments override its configuration."""
    # Files uploaded during the run go to a folder of its own, not the instance folder.
    upload_dir = str(tmp_path_factory.mktemp("uploads"))

    def factory(**overrides: Any) -> Flask:
        config = {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "REDIS_URL": TEST_REDIS_URL,
            "CELERY_ALWAYS_EAGER": True,
            "DEMO_ADMIN_PASSWORD": DEMO_ADMIN_PASSWORD,
            "LOG_FORMAT": "text",
            "WECHAT_API_BASE": wechat_stub.url,
            "SIGNING_KEY_DIR": signing_key_dir,
            "UPLOAD_DIR": upload_dir,
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
    # Built before the tables were dropped: what the app recorded then (its signing keys) is gone.
    reset_local_views(app)
    yield app


def _drop_everything() -> None:
    """Start from an empty database so the migrations, not leftovers, make the schema."""
    db.session.remove()
    metadata = sa.MetaData()
    metadata.reflect(bind=db.engine)
    metadata.drop_all(bind=db.engine)


@pytest.fixture
def app(_session_app: Flask, wechat_stub: StubServer) -> Iterator[Flask]:
    """The migrated app; every row and Redis key a test writes is gone after it, and no row
    may hold a clear personal number or a secret the test used."""
    init_celery(_session_app)
    wechat_stub.state.reset()
    yield _session_app
    # What WeChat handed the app (access tokens, session keys) is secret too: logs included.
    personal_numbers.remember_secrets(wechat_stub.state.issued_secrets())
    with _session_app.app_context():
        db.session.remove()
        leaks = personal_numbers.leaks_in_database()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())
        _session_app.extensions["redis"].client.flushdb()
        _session_app.extensions["redis"].down_until = 0.0
    # The emptied tables restart the catalog version and forget the signing keys: every
    # per-process view goes, so the next test reads afresh and records the keys on first use.
    reset_local_views(_session_app)
    assert not leaks, f"clear personal numbers or secrets stored in: {leaks}"


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
