"""wechat_client binds one WeChatClient per app, built from the app's config and Redis."""

from __future__ import annotations

from types import SimpleNamespace

import fakeredis
from flask import Flask

from app.wechat import WeChatClient, wechat_client
from tests.unit.wechat.stub_support import APPID, SECRET, mint_code, serve_stub


def test_wechat_client_binds_a_client_that_logs_in_against_the_configured_server() -> None:
    with serve_stub() as stub:
        app = Flask(__name__)
        app.config.update(WECHAT_API_BASE=stub.url, WECHAT_APPID=APPID, WECHAT_SECRET=SECRET,
                          WECHAT_TIMEOUT=2.0, WECHAT_CALL_BUDGET=4.0,
                          WECHAT_BREAKER_FAILURES=3, WECHAT_BREAKER_COOL_DOWN=10.0)
        redis_client = fakeredis.FakeRedis(decode_responses=True)
        app.extensions["redis"] = SimpleNamespace(client=redis_client)

        client = wechat_client.init_app(app)

        with app.app_context():
            assert wechat_client() is client
        assert isinstance(client, WeChatClient)
        assert (client.breaker.failure_threshold, client.breaker.cool_down_seconds) == (3, 10.0)
        assert client.code_to_session(mint_code(stub, "o-bob")).openid == "o-bob"
        client.access_token()
        assert redis_client.exists(client.tokens.cache_key)
        assert SECRET not in repr(client)
