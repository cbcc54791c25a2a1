"""Request ids: a client's id is echoed only when it is plainly safe; the access log never
carries what a client sent instead."""

from __future__ import annotations

import logging
import re

import pytest

from app.platform.log_format import TEXT_FORMAT, ContextFilter


class _Lines(logging.Handler):
    """The access log's lines as the app writes them, request id included."""

    def __init__(self) -> None:
        super().__init__()
        self.addFilter(ContextFilter())
        self.setFormatter(logging.Formatter(TEXT_FORMAT))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def access_lines():
    handler = _Lines()
    logger = logging.getLogger("app.access")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


@pytest.mark.parametrize("sent,telltale", [
    ("abc\r\nSet-Cookie: stolen=1", "stolen"),
    ("abc\nX-Injected: yes", "X-Injected"),
    ("<script>alert(1)</script>", "script"),
    ("req-" + "7" * 61, "req-777"),  # 65 characters, one past the limit
    ("请求-编号-1", "请求"),
    ("abc def", "abc def"),
])
def test_an_unsafe_request_id_is_replaced_by_a_fresh_one_and_never_logged(
        client, access_lines, sent, telltale):
    # Straight into the WSGI environ, as a raw server would pass it (as latin-1 text).
    raw = sent.encode("utf-8").decode("latin-1")
    response = client.get("/healthz", environ_overrides={"HTTP_X_REQUEST_ID": raw})
    echoed = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", echoed)
    [line] = [line for line in access_lines if "/healthz" in line]
    assert f"[{echoed}]" in line
    assert telltale not in line and raw not in line and "\r" not in line


def test_a_safe_request_id_is_echoed_and_logged(client, access_lines):
    response = client.get("/healthz", headers={"X-Request-ID": "mp-2026.11_25-" + "a" * 50})
    assert response.headers["X-Request-ID"] == "mp-2026.11_25-" + "a" * 50
    assert f"[mp-2026.11_25-{'a' * 50}]" in access_lines[-1]
