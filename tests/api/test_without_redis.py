"""The API with Redis unreachable (its port closed): limits hold per process, reads answer from
the database, writes that can lose their Redis part succeed, logout says it is not done."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import CLOSED_REDIS_URL
from tests.factories import (
    auth_headers,
    create_admin,
    create_item,
    create_theme,
    create_user,
)
from tests.outages import app_on_redis

CODE = "GF00007001"


@pytest.fixture
def client(app: Flask, make_app: Callable[..., Flask]) -> Iterator[FlaskClient]:
    """A client of an app on the suite's database whose Redis (and broker) port is closed."""
    with app_on_redis(make_app, app, CLOSED_REDIS_URL) as degraded:
        yield degraded.test_client()


@pytest.fixture
def catalog(app_context: None) -> None:
    create_theme(code="social_security")
    create_item(code=CODE, name="社会保障卡申领", regions=("530000",))


def test_admin_logins_from_one_address_are_still_limited_and_locked_out(client, app_context):
    create_admin(username="alice")
    answers = [client.post("/api/v1/auth/admin-login",
                           json={"username": "alice", "password": "wrong"}) for _ in range(40)]
    kinds = Counter(answer.get_json()["error"] for answer in answers)
    # The lockout lives in the database (5 failures); the per-address limit (30 a minute)
    # falls back on this process's own count.
    assert kinds == {"invalid_credentials": 5, "account_locked": 25, "rate_limited": 10}
    assert answers[-1].status_code == 429 and int(answers[-1].headers["Retry-After"]) >= 1


def test_logins_of_one_wechat_user_are_still_limited(client, wechat_stub):
    statuses = [client.post("/api/v1/auth/wechat-login",
                            json={"code": wechat_stub.state.mint_code("o-busy")}).status_code
                for _ in range(21)]
    assert statuses == [200] * 20 + [429]


def test_reads_answer_from_the_database(client, catalog):
    assert client.get(f"/api/v1/services/{CODE}").status_code == 200
    hot = client.get("/api/v1/services/hot?region=530000").get_json()["items"]
    assert [item["code"] for item in hot] == [CODE]
    assert client.get("/api/v1/search?q=社会保障卡").get_json()["items"][0]["key"] == CODE
    assert client.get("/api/v1/home").get_json()["hot"][0]["code"] == CODE


def test_a_visit_is_accepted_and_kept_in_the_recent_list_without_the_ranking(
        client, catalog, caplog):
    headers = auth_headers(create_user(openid="o-visitor"))
    with caplog.at_level(logging.INFO, logger="app.catalog.hot"):
        visit = client.post(f"/api/v1/services/{CODE}/visits", headers=headers, json={})
    assert visit.status_code == 202
    recent = client.get("/api/v1/me/recent", headers=headers).get_json()["items"]
    assert [item["code"] for item in recent] == [CODE]
    assert "hot ranking missed a use" in caplog.text


def test_logout_is_503_but_the_session_is_revoked_all_the_same(client, wechat_stub):
    tokens = client.post("/api/v1/auth/wechat-login",
                         json={"code": wechat_stub.state.mint_code("o-leaving")}).get_json()
    access = {"Authorization": f"Bearer {tokens['access_token']}"}
    logout = client.post("/api/v1/auth/logout", headers=access)
    assert logout.status_code == 503
    assert logout.get_json()["error"] == "unavailable" and logout.headers["Retry-After"]
    assert client.get("/api/v1/me", headers=access).get_json()["error"] == "token_revoked"
    refresh = client.post("/api/v1/auth/refresh",
                          headers={"Authorization": f"Bearer {tokens['refresh_token']}"})
    assert refresh.status_code == 401


def test_a_catalog_edit_stands_when_the_broker_cannot_take_the_index_build(
        client, catalog, caplog):
    admin = auth_headers(create_admin(username="cat", roles=("catalog_admin",)))
    with caplog.at_level(logging.WARNING, logger="app.platform.tasks"):
        edit = client.patch(f"/api/v1/admin/services/{CODE}", headers=admin,
                            json={"name": "第三代社会保障卡申领"})
    assert edit.status_code == 200
    assert "not queued" in caplog.text
    assert client.get("/api/v1/search?q=第三代").get_json()["items"][0]["key"] == CODE
