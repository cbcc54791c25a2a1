"""The WeChat server API: one client per app, its errors, and the access token workers share."""

from __future__ import annotations

from flask import Flask, current_app

from app.wechat.access_token import AccessTokenHolder, TokenFetcher
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
    SubscriptionRefused,
    TokenExpired,
    TokenMissing,
    WeChatBusy,
    WeChatError,
    WeChatUnavailable,
    error_for,
)

EXTENSION_KEY = "wechat"


def init_wechat(app: Flask) -> WeChatClient:
    """Build the app's WeChatClient from its config and Redis; needs the Redis store bound first."""
    client = WeChatClient(
        app.config["WECHAT_API_BASE"],
        app.config["WECHAT_APPID"],
        app.config["WECHAT_SECRET"],
        app.extensions["redis"].client,
        timeout=float(app.config["WECHAT_TIMEOUT"]),
    )
    app.extensions[EXTENSION_KEY] = client
    return client


def wechat_client() -> WeChatClient:
    """The current app's WeChatClient."""
    return current_app.extensions[EXTENSION_KEY]


__all__ = [
    "AccessTokenHolder",
    "AccessTokenRejected",
    "AppCredentialsRejected",
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
    "SessionInfo",
    "SubscriptionRefused",
    "TokenExpired",
    "TokenFetcher",
    "TokenMissing",
    "WeChatBusy",
    "WeChatClient",
    "WeChatError",
    "WeChatUnavailable",
    "error_for",
    "init_wechat",
    "wechat_client",
]
