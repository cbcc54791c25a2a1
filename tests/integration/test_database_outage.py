"""A running app whose MariaDB goes away under it: a proxy between them is cut or stalled.
Every route that needs the database answers 503 in the error shape, fast; the probes tell;
the app serves again when the database is back, without a restart."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import TEST_DATABASE_URL
from tests.factories import auth_headers, create_user
from tests.outages import TcpProxy, side_app, sweep_routes_without_database

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not TEST_DATABASE_URL,
                       reason="needs TEST_DATABASE_URL (a real MariaDB to cut off)"),
]
READ_TIMEOUT_SECONDS = 1


@pytest.fixture
def proxy(app: Flask) -> Iterator[TcpProxy]:
    database = sa.engine.make_url(TEST_DATABASE_URL)
    between = TcpProxy(database.host or "127.0.0.1", database.port or 3306)
    yield between
    between.cut()


@pytest.fixture
def served(app: Flask, make_app: Callable[..., Flask], proxy: TcpProxy) -> Iterator[Flask]:
    """An app that reaches the suite's database through the proxy."""
    url = sa.engine.make_url(TEST_DATABASE_URL).set(host="127.0.0.1", port=proxy.port)
    with side_app(make_app, app, DATABASE_URL=url.render_as_string(hide_password=False),
                  DATABASE_READ_TIMEOUT=READ_TIMEOUT_SECONDS) as built:
        yield built


@pytest.fixture
def client(served: Flask) -> FlaskClient:
    return served.test_client()


@pytest.fixture
def citizen(app_context: None) -> dict[str, str]:
    return auth_headers(create_user(openid="o-outage"))


def test_every_route_answers_503_when_the_database_is_cut_off_and_serves_when_it_is_back(
        served, client, proxy, citizen, wechat_stub):
    assert client.get("/api/v1/me", headers=citizen).status_code == 200  # pooled connections

    proxy.cut()
    assert sweep_routes_without_database(served, wechat_stub) >= 40
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["checks"]["database"]["status"] == "unavailable"
    assert client.get("/healthz").get_json() == {"status": "ok"}

    proxy.restore()
    assert client.get("/api/v1/me", headers=citizen).status_code == 200
    assert client.get("/readyz").status_code == 200


def test_a_stalled_database_gets_a_503_within_the_read_timeout(client, proxy, citizen):
    assert client.get("/api/v1/me", headers=citizen).status_code == 200

    proxy.stall()
    started = time.monotonic()
    stalled = client.get("/api/v1/me", headers=citizen)
    waited = time.monotonic() - started
    assert stalled.status_code == 503 and stalled.get_json()["error"] == "unavailable"
    # The pooled connection's ping, then a new connection's greeting, each time out once.
    assert waited < 3 * READ_TIMEOUT_SECONDS + 1

    proxy.restore()
    assert client.get("/api/v1/me", headers=citizen).status_code == 200
