"""The WeChat server API: one client per app, its errors, and the access token workers share."""

from __future__ import annotations

from flask import Flask

from app.platform.app_services import AppService
from app.wechat.access_token import AccessTokenHolder, TokenFetcher
from app.wechat.breaker import CircuitBreaker, CircuitOpen
from app.wechat.client import SessionInfo, WeChatClient
from app.wechat.errors import (
    AccessTokenRejected,
    AppCredentialsRejected,
    CodeBlocked,
    CodeUsed,
    DailyQuotaReached,
    DataFormatError,
    InvalidAppId,
    InvalidAppSecret,
    InvalidArgument,
    InvalidCode,
    InvalidCredential,
    InvalidGrantType,
    InvalidOpenid,
    InvalidPage,
    InvalidTemplate,
    IpNotWhitelisted,
    LoginCodeRejected,
    MinuteQuotaReached,
    RealNameCodeInvalid,
    SubscriptionRefused,
    TokenExpired,
    TokenMissing,
    WeChatBusy,
    WeChatError,
    WeChatUnavailable,
    error_for,
)
from app.wechat.real_name import RealNameCheck
from app.wechat.text_check import TextVerdict


def build_wechat_client(app: Flask) -> WeChatClient:
    """The app's WeChatClient from its config and Redis; needs the Redis store bound first."""
    return WeChatClient(
        app.config["WECHAT_API_BASE"],
        app.config["WECHAT_APPID"],
        app.config["WECHAT_SECRET"],
        app.extensions["redis"].client,
        timeout=float(app.config["WECHAT_TIMEOUT"]),
        budget_seconds=float(app.config["WECHAT_CALL_BUDGET"]),
        breaker=CircuitBreaker(int(app.config["WECHAT_BREAKER_FAILURES"]),
                               float(app.config["WECHAT_BREAKER_COOL_DOWN"])),
    )


wechat_client: AppService[WeChatClient] = AppService("wechat", build_wechat_client)


__all__ = [
    "AccessTokenHolder",
    "AccessTokenRejected",
    "AppCredentialsRejected",
    "CircuitBreaker",
    "CircuitOpen",
    "CodeBlocked",
    "CodeUsed",
    "DailyQuotaReached",
    "DataFormatError",
    "InvalidAppId",
    "InvalidAppSecret",
    "InvalidArgument",
    "InvalidCode",
    "InvalidCredential",
    "InvalidGrantType",
    "InvalidOpenid",
    "InvalidPage",
    "InvalidTemplate",
    "IpNotWhitelisted",
    "LoginCodeRejected",
    "MinuteQuotaReached",
    "RealNameCheck",
    "RealNameCodeInvalid",
    "SessionInfo",
    "SubscriptionRefused",
    "TextVerdict",
    "TokenExpired",
    "TokenFetcher",
    "TokenMissing",
    "WeChatBusy",
    "WeChatClient",
    "WeChatError",
    "WeChatUnavailable",
    "build_wechat_client",
    "error_for",
    "wechat_client",
]
