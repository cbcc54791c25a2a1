"""The app set up for a benchmark: production settings with fresh secrets, its data rebuilt.

The database named by DATABASE_URL is dropped and created again, and the Redis db named by
REDIS_URL flushed, so both must be scratch ones (the database name must contain "bench").
"""

from __future__ import annotations

import base64
import os
import secrets
import subprocess

import pymysql
import redis
from errors import BenchError
from paths import BENCH_DIR, REPO_DIR, VENV_BIN
from sqlalchemy.engine import make_url


def generated_secrets() -> dict[str, str]:
    """Fresh values for every secret setting of app/config.py, each in the format it takes."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from app.config import SETTINGS

    values = {s.name: secrets.token_urlsafe(32) for s in SETTINGS if s.secret}
    signing_pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    return values | {
        "PERSONAL_DATA_KEYS": "b1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "BLIND_INDEX_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "DEPARTMENT_KEYS": "bench:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "SIGNING_KEY_PEM": signing_pem,
    }


def bench_environment(database_url: str, redis_url: str) -> dict[str, str]:
    """The production environment for the app, with freshly generated secrets."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "GUNICORN_"))}
    return env | generated_secrets() | {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "LOG_LEVEL": "WARNING",  # the access log would otherwise dominate the cost measured
    }


def recreate_database(database_url: str) -> None:
    """Drop and create the bench database on MariaDB."""
    url = make_url(database_url)
    name, host, port = url.database or "", url.host or "127.0.0.1", url.port or 3306
    if "bench" not in name:
        raise BenchError(f"refusing to drop database {name!r}: its name must contain 'bench'")
    try:
        connection = pymysql.connect(host=host, port=port, user=url.username or "root",
                                     password=url.password or "", connect_timeout=3)
    except pymysql.err.OperationalError as exc:
        raise BenchError(f"cannot connect to MariaDB at {host}:{port}: {exc.args[-1]}") from exc
    with connection, connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 "
                       "COLLATE utf8mb4_unicode_ci")


def flush_redis(redis_url: str) -> None:
    """Empty the bench Redis database."""
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        raise BenchError(f"cannot use Redis at {redis_url}: {exc}") from exc
    finally:
        client.close()


def run_flask(env: dict[str, str], *args: str) -> None:
    """Run one `flask --app app` command, failing with the end of its output."""
    done = subprocess.run([str(VENV_BIN / "flask"), "--app", "app", *args], cwd=REPO_DIR,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        output = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise BenchError(f"`flask {' '.join(args)}` failed; its last lines:\n{output}")


def rebuild_demo_data(env: dict[str, str]) -> None:
    """Empty the Redis db, recreate the database, migrate it and load the demo data."""
    flush_redis(env["REDIS_URL"])
    recreate_database(env["DATABASE_URL"])
    run_flask(env, "db", "upgrade")
    run_flask(env, "seed-demo")


def add_generated_catalog(env: dict[str, str], item_count: int) -> None:
    """Add `item_count` generated items and their recorded uses (bench/load_catalog.py)."""
    done = subprocess.run([str(VENV_BIN / "python"), str(BENCH_DIR / "load_catalog.py"),
                           "--items", str(item_count)], cwd=REPO_DIR, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise BenchError("bench/load_catalog.py failed:\n" + done.stderr[-2000:])
