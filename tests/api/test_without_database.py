"""The API with the database unreachable (its port closed): whatever needs the database is a
503 in the one error shape with Retry-After, nothing is a 500, `/healthz` still says ok."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask

from tests.conftest import CLOSED_MYSQL_URL
from tests.outages import side_app, sweep_routes_without_database


@pytest.fixture
def dbless(app: Flask, make_app: Callable[..., Flask]) -> Iterator[Flask]:
    with side_app(make_app, app, DATABASE_URL=CLOSED_MYSQL_URL) as degraded:
        yield degraded


def test_every_route_that_needs_the_database_answers_503_in_the_error_shape(
        dbless, wechat_stub):
    # Nearly every route needs it: the count shows the sweep got past auth and validation.
    assert sweep_routes_without_database(dbless, wechat_stub) >= 40


def test_healthz_says_ok_and_readyz_keeps_its_body(dbless):
    client = dbless.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    body = ready.get_json()
    assert ready.status_code == 503 and ready.headers["Retry-After"]
    assert body["status"] and body["error"] == "unavailable"
    assert body["checks"]["database"]["status"] == "unavailable"
    assert body["checks"]["redis"]["status"] == "ok"
