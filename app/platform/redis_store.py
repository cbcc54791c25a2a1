"""The one place the app reaches Redis: a real server, or fakeredis in embedded mode."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import fakeredis
import redis
from flask import Flask, current_app

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long a worker stops trying Redis after it failed, so an outage costs one timeout, not one
# per request. Only an optimisation: every worker process finds out for itself.
BACKOFF_SECONDS = 5.0


@dataclass
class _Connection:
    client: redis.Redis  # decodes answers to str
    binary: redis.Redis  # the same server, for bytes (serialized indexes)
    down_until: float = 0.0


class RedisStore:
    """Binds a Redis client to each app and remembers, per process, when Redis last failed."""

    def init_app(self, app: Flask) -> None:
        url = app.config["REDIS_URL"]
        if url:
            timeout = app.config["REDIS_TIMEOUT"]
            options = {"socket_timeout": timeout, "socket_connect_timeout": timeout,
                       "health_check_interval": 30}
            client = redis.Redis.from_url(url, decode_responses=True, **options)
            binary = redis.Redis.from_url(url, **options)
        else:
            server = fakeredis.FakeServer()
            client = fakeredis.FakeRedis(server=server, decode_responses=True)
            binary = fakeredis.FakeRedis(server=server)
        app.extensions["redis"] = _Connection(client, binary)

    @property
    def _connection(self) -> _Connection:
        return current_app.extensions["redis"]

    @property
    def client(self) -> redis.Redis:
        return self._connection.client

    @property
    def binary_client(self) -> redis.Redis:
        return self._connection.binary

    def available(self) -> bool:
        """False while a recent failure says Redis is down."""
        return time.monotonic() >= self._connection.down_until

    def attempt(self, operation: Callable[[redis.Redis], T], fallback: T,
                binary: bool = False) -> T:
        """Run `operation` on the client; `fallback` while Redis is down or if it fails now.

        For everything Redis only speeds up or can lose: the caller decides what to do
        without it, and one failure spares the next requests the timeout.
        """
        if not self.available():
            return fallback
        try:
            return operation(self.binary_client if binary else self.client)
        except redis.RedisError as exc:
            self.mark_down(exc)
            return fallback

    def mark_down(self, exc: Exception) -> None:
        """Record a failure so the next requests skip Redis for a few seconds."""
        if self.available():
            log.warning("redis unavailable, serving without it: %s", type(exc).__name__)
        self._connection.down_until = time.monotonic() + BACKOFF_SECONDS

