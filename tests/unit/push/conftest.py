"""Fixtures the WeChat channel's test modules share."""

from __future__ import annotations

import pytest

from app.push.wechat_sends import send_client


@pytest.fixture
def closed_breaker(app_context) -> None:
    """The send client's circuit closed, whatever the last test did to it."""
    send_client().breaker.succeeded()
