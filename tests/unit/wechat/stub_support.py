"""Helpers for WeChat tests: drive the stub server's /_stub/ controls over HTTP, build clients."""

from __future__ import annotations

import socket
from typing import Any

import fakeredis
import requests

from app.wechat import WeChatClient
from mini_program_stub.wechat_server import StubServer, create_stub_app

APPID = "wx-test-appid"
SECRET = "wx-test-secret-7c1e9b"  # distinctive, so a leak into logs cannot hide
LOGIN = "/sns/jscode2session"
STABLE_TOKEN = "/cgi-bin/stable_token"
SEND = "/cgi-bin/message/subscribe/send"
SEC_CHECK = "/wxa/msg_sec_check"


def serve_stub() -> StubServer:
    """A stub WeChat server for APPID/SECRET on an ephemeral port."""
    return StubServer(create_stub_app(APPID, SECRET))


def control(stub: StubServer, method: str, endpoint: str, **body: Any) -> Any:
    """Call a /_stub/ control endpoint and return its JSON."""
    response = requests.request(method, f"{stub.url}/_stub{endpoint}", json=body or None,
                                timeout=5)
    assert response.ok, response.text
    return response.json()


def mint_code(stub: StubServer, openid: str = "o-alice", unionid: str | None = None) -> str:
    """A fresh login code for openid."""
    return control(stub, "POST", "/codes", openid=openid, unionid=unionid)["code"]


def fail_next(stub: StubServer, path: str, errcode: int = -1, count: int = 1,
              http_status: int = 200) -> None:
    """Make the next `count` calls of path fail."""
    control(stub, "POST", "/failures", path=path, errcode=errcode, count=count,
            http_status=http_status)


def calls(stub: StubServer, path: str) -> int:
    """How many times the stub answered path."""
    return control(stub, "GET", "/calls")["calls"].get(path, 0)


def subscribe(stub: StubServer, openid: str, template_id: str, credits: int = 1) -> None:
    """Give openid consent credits for a template."""
    control(stub, "PUT", "/subscriptions", openid=openid, template_id=template_id,
            credits=credits)


def make_client(base_url: str, redis_client: fakeredis.FakeRedis | None = None,
                **options: Any) -> WeChatClient:
    """A client for the stub that never sleeps between retries."""
    options.setdefault("sleep", lambda seconds: None)
    options.setdefault("secret", SECRET)
    return WeChatClient(base_url, APPID, redis=redis_client or fakeredis.FakeRedis(
        decode_responses=True), **options)


def closed_port_url() -> str:
    """The URL of a local port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
