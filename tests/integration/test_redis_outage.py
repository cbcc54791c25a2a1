"""A running app whose Redis stops under it (a private redis-server, SIGTERM mid-test): limits
move to each process, reads and writes that can do without Redis carry on, logout says it is
not done, the probes tell, and it all comes back when Redis does."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import auth_headers, create_admin, create_item, create_theme, create_user
from tests.outages import REDIS_SERVER, RedisServer, TcpProxy, app_on_redis, side_app

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not REDIS_SERVER, reason="needs redis-server on PATH to stop one"),
]
CODES = ("GF00008001", "GF00008002")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def served(app: Flask, make_app: Callable[..., Flask], redis_server: RedisServer
           ) -> Iterator[Flask]:
    """An app on the private Redis (cache, limits and broker) and the suite's database."""
    with app_on_redis(make_app, app, redis_server.url) as built:
        yield built


@pytest.fixture
def client(served: Flask) -> FlaskClient:
    return served.test_client()


@pytest.fixture
def catalog(app_context: None) -> None:
    create_theme(code="social_security")
    create_item(code=CODES[0], name="社会保障卡申领")
    create_item(code=CODES[1], name="城乡居民基本养老保险参保登记")


def errors_of(client: FlaskClient, attempts: int) -> Counter:
    return Counter(client.post("/api/v1/auth/admin-login",
                               json={"username": "alice", "password": "wrong"}).get_json()["error"]
                   for _ in range(attempts))


def test_login_limits_hold_when_redis_stops_mid_way(client, redis_server, wechat_stub,
                                                     app_context):
    create_admin(username="alice")
    assert errors_of(client, 10) == {"invalid_credentials": 5, "account_locked": 5}
    shared = redis.Redis.from_url(redis_server.url, decode_responses=True)
    counted = [int(shared.get(key)) for key in shared.keys("ratelimit:auth_admin_login:*")]
    assert sum(counted) == 10  # in one window, or two if a minute ended meanwhile

    redis_server.stop()
    # This process counts afresh: 30 more pass the per-address limit, the lockout still holds.
    assert errors_of(client, 40) == {"account_locked": 30, "rate_limited": 10}
    login = client.post("/api/v1/auth/wechat-login",
                        json={"code": wechat_stub.state.mint_code("o-during-outage")})
    assert login.status_code == 200


def test_reads_visits_and_catalog_edits_carry_on_when_redis_stops(client, redis_server,
                                                                   catalog):
    user = auth_headers(create_user(openid="o-reader"))
    admin = auth_headers(create_admin(username="cat", roles=("catalog_admin",)))
    assert client.post(f"/api/v1/services/{CODES[1]}/visits", headers=user,
                       json={}).status_code == 202
    ranked = redis.Redis.from_url(redis_server.url, decode_responses=True)
    assert ranked.zscore("hot:personal:all", CODES[1])

    redis_server.stop()
    assert client.post(f"/api/v1/services/{CODES[0]}/visits", headers=user,
                       json={}).status_code == 202
    recent = client.get("/api/v1/me/recent", headers=user).get_json()["items"]
    assert [item["code"] for item in recent] == [CODES[0], CODES[1]]
    assert {i["code"] for i in client.get("/api/v1/services/hot").get_json()["items"]} == {
        *CODES}
    assert client.get("/api/v1/home", headers=user).status_code == 200
    started = time.monotonic()
    edit = client.patch(f"/api/v1/admin/services/{CODES[0]}", headers=admin,
                        json={"name": "第三代社会保障卡申领"})
    assert edit.status_code == 200
    assert time.monotonic() - started < 5  # not the ~20 s of retrying a result store
    assert client.get("/api/v1/search?q=第三代").get_json()["items"][0]["key"] == CODES[0]


def test_probes_tell_redis_is_down_and_when_it_is_back(client, served, redis_server):
    redis_server.stop()
    down = client.get("/readyz")
    assert down.status_code == 503
    assert down.get_json()["checks"]["redis"]["status"] == "unavailable"
    assert down.get_json()["checks"]["database"]["status"] == "ok"
    assert client.get("/healthz").status_code == 200

    redis_server.start()
    served.extensions["redis"].down_until = 0.0  # skip the few seconds of back-off
    up = client.get("/readyz")
    assert up.status_code == 200, up.get_json()
    assert up.get_json() == {"status": "ok", "checks": up.get_json()["checks"]}


def test_a_logout_redis_missed_is_done_by_the_retry_it_asks_for(app, make_app, redis_server,
                                                               wechat_stub):
    proxy = TcpProxy("127.0.0.1", redis_server.port)  # cut and restored, Redis keeps its data
    with side_app(make_app, app, REDIS_URL=f"redis://127.0.0.1:{proxy.port}/0") as served:
        client = served.test_client()
        tokens = client.post("/api/v1/auth/wechat-login", json={
            "code": wechat_stub.state.mint_code("o-leaving")}).get_json()
        access = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert client.get("/api/v1/me", headers=access).status_code == 200  # "active" cached

        proxy.cut()
        assert client.post("/api/v1/auth/logout", headers=access).status_code == 503
        assert client.get("/api/v1/me", headers=access).status_code == 401  # the database says

        proxy.restore()
        served.extensions["redis"].down_until = 0.0
        # The copy cached before the cut still says "active": why the logout said 503.
        assert client.get("/api/v1/me", headers=access).status_code == 200
        assert client.post("/api/v1/auth/logout", headers=access).status_code == 200
        refused = client.get("/api/v1/me", headers=access)
        assert refused.status_code == 401 and refused.get_json()["error"] == "token_revoked"
    proxy.cut()
