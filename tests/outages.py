"""Outages to order: a private Redis server to stop, a TCP proxy to cut or stall in front of a
server, and a sweep of every route that checks each answer while something is down."""

from __future__ import annotations

import base64
import json
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_jwt_extended import create_access_token, create_refresh_token

from app.extensions import db
from app.identity.partner_signing import signature
from app.platform import local_rate_limit
from app.platform.tasks import init_celery
from mini_program_stub.wechat_server import StubServer
from tests.conftest import ERROR_SHAPE, SECRETS
from tests.waiting import wait_until

REDIS_SERVER = shutil.which("redis-server")


@contextmanager
def side_app(make_app: Callable[..., Flask], main_app: Flask, **overrides: Any
             ) -> Iterator[Flask]:
    """An app beside the suite's, on its database unless overridden; its pool is closed after,
    and the shared Celery app, which building an app binds to it, goes back to the main one."""
    built = make_app(**overrides)
    try:
        yield built
    finally:
        with built.app_context():
            db.engine.dispose()
        init_celery(main_app)


@contextmanager
def app_on_redis(make_app: Callable[..., Flask], main_app: Flask, redis_url: str
                 ) -> Iterator[Flask]:
    """A side app whose Redis is at `redis_url`, its broker too (tasks are sent there, not
    run in process); the clock of its per-process rate limits stands still, so no window
    ends mid-test."""
    with side_app(make_app, main_app, REDIS_URL=redis_url, CELERY_ALWAYS_EAGER=False) as built:
        built.extensions[local_rate_limit.EXTENSION_KEY] = local_rate_limit.LocalWindows(
            clock=lambda: 1_800_000_000.0)
        yield built


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own on a free loopback port, stopped and started at will."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._folder = folder
        self._process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        assert REDIS_SERVER, "redis-server is not on PATH"
        self._process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self._folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, 10, f"redis-server on port {self.port}")
        return self

    def stop(self) -> None:
        """SIGTERM, as an orchestrator stops it, and wait until it is gone."""
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class TcpProxy:
    """A loopback proxy to `upstream`: `cut()` drops every connection and refuses new ones,
    `stall()` keeps them open but passes nothing on, `restore()` serves again on the port."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._flowing = threading.Event()
        self._listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        self._flowing.set()
        if self._listener is None:
            self._listener = socket.create_server(("127.0.0.1", self.port))
            threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def stall(self) -> None:
        self._flowing.clear()

    def cut(self) -> None:
        with self._lock:
            listener, self._listener = self._listener, None
            doomed, self._sockets = self._sockets, []
        for sock in [listener, *doomed] if listener else doomed:
            _close(sock)
        self._flowing.set()  # pumps waiting on a stall wake up and find their sockets closed

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            self._flowing.wait()  # while stalled, a new connection hears nothing either
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                self._flowing.wait()
                sink.sendall(data)
        except OSError:
            pass
        _close(source)
        _close(sink)


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


# --- every route, while the database is down -------------------------------------------------


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _callers(app: Flask) -> dict[str, dict[str, str]]:
    """Headers of a citizen, an admin and a refresh, as tokens issued before the outage."""
    citizen = {"kind": "user", "roles": ["citizen"], "fam": "f-citizen"}
    admin = {"kind": "admin", "roles": ["super_admin"], "fam": "f-admin"}
    with app.app_context():
        return {
            "citizen": _bearer(create_access_token("1", additional_claims=citizen)),
            "admin": _bearer(create_access_token("1", additional_claims=admin)),
            "refresh": _bearer(create_refresh_token(
                "1", additional_claims={**citizen, "jti": "j"})),
        }


def _department_signed(method: str, path: str, body: bytes) -> dict[str, str]:
    key_id, secret = SECRETS["DEPARTMENT_KEYS"].split(":")
    stamp = str(int(time.time()))
    return {"X-Department-Key": key_id, "X-Timestamp": stamp,
            "X-Signature": signature(base64.b64decode(secret), method, path, stamp, body)}


def _request_for(path: str, method: str, callers: dict[str, dict[str, str]],
                 stub: StubServer) -> tuple[dict[str, str], bytes]:
    """Headers and a body that get a request past the checks that need no database."""
    body: dict = {}
    headers = callers["admin"] if "/admin/" in path else callers["citizen"]
    if path.endswith("/wechat-login"):
        body = {"code": stub.state.mint_code("o-outage")}
    elif path.endswith("/admin-login"):
        body = {"username": "alice", "password": "secret"}
    elif path.endswith("/refresh"):
        headers = callers["refresh"]
    raw = json.dumps(body).encode()
    if "/integrations/" in path:
        headers = _department_signed(method, path, raw)
    return headers, raw


def sweep_routes_without_database(app: Flask, stub: StubServer) -> int:
    """Call every route of `app` once; none may answer 500 or a stack trace, every error is in
    the one shape, and each that tried to connect to the database is a 503 `unavailable` with
    Retry-After. Returns how many tried."""
    callers = _callers(app)
    client = app.test_client()
    with app.app_context():
        engine = db.engine
    reached: list[bool] = []
    note: Callable[..., None] = lambda *args: reached.append(True)  # noqa: E731
    sa.event.listen(engine, "do_connect", note)
    needed_database = 0
    try:
        for rule in app.url_map.iter_rules():
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: "1" if "id" in m[1] else "x",
                              rule.rule)
                headers, raw = _request_for(path, method, callers, stub)
                reached.clear()
                response = client.open(path, method=method, data=raw, headers=headers,
                                       content_type="application/json")
                where = f"{method} {path}"
                assert response.status_code != 500, where
                assert "Traceback" not in response.get_data(as_text=True), where
                if response.status_code >= 400:
                    assert set(response.get_json()) >= ERROR_SHAPE, where
                if reached:
                    needed_database += 1
                    assert response.status_code == 503, where
                    assert response.get_json()["error"] == "unavailable", where
                    assert int(response.headers["Retry-After"]) > 0, where
    finally:
        sa.event.remove(engine, "do_connect", note)
    return needed_database
