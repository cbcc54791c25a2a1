"""Exceptions for WeChat server answers: one class per errcode we meet, grouped by what to do."""

from __future__ import annotations


class WeChatError(Exception):
    """A failed WeChat call; the message carries the errcode and errmsg, never a secret."""

    errcode: int | None = None

    def __init__(self, errmsg: str = "", errcode: int | None = None) -> None:
        # Both go to Exception.args so the error survives pickling (Celery moves it between
        # processes) with its errcode, even for codes without a class of their own.
        super().__init__(errmsg, errcode)
        if errcode is not None:
            self.errcode = errcode
        self.errmsg = errmsg

    def __str__(self) -> str:
        if self.errcode is None:
            return self.errmsg
        return f"{self.errmsg} (errcode {self.errcode})"


class WeChatUnavailable(WeChatError):
    """WeChat could not be reached or gave no usable answer (network, timeout, 5xx, not JSON)."""


class WeChatBusy(WeChatError):
    """errcode -1: the system is busy; try again later."""

    errcode = -1


class LoginCodeRejected(WeChatError):
    """A login code WeChat will not exchange; the user has to log in again (401)."""


class InvalidCode(LoginCodeRejected):
    """errcode 40029: unknown or expired login code."""

    errcode = 40029


class CodeUsed(LoginCodeRejected):
    """errcode 40163: the login code was already exchanged."""

    errcode = 40163


class CodeBlocked(LoginCodeRejected):
    """errcode 40226: WeChat blocks this (high-risk) user."""

    errcode = 40226


class AccessTokenRejected(WeChatError):
    """An API refused the access token it was called with."""


class InvalidCredential(AccessTokenRejected):
    """errcode 40001: token invalid or not the latest (on the token endpoint: wrong secret)."""

    errcode = 40001


class TokenMissing(AccessTokenRejected):
    """errcode 41001: the call carried no access token."""

    errcode = 41001


class TokenExpired(AccessTokenRejected):
    """errcode 42001: the access token expired."""

    errcode = 42001


class AppCredentialsRejected(WeChatError):
    """WeChat refuses this server's AppID, AppSecret or IP: a configuration problem."""


class InvalidAppId(AppCredentialsRejected):
    """errcode 40013: invalid AppID."""

    errcode = 40013


class InvalidAppSecret(AppCredentialsRejected):
    """errcode 40125: invalid AppSecret."""

    errcode = 40125


class IpNotWhitelisted(AppCredentialsRejected):
    """errcode 40164: this server's IP is not in the mini program's whitelist."""

    errcode = 40164


class InvalidGrantType(WeChatError):
    """errcode 40002: invalid grant_type."""

    errcode = 40002


class InvalidOpenid(WeChatError):
    """errcode 40003: the openid is not a user of this mini program."""

    errcode = 40003


class InvalidTemplate(WeChatError):
    """errcode 40037: unknown template_id."""

    errcode = 40037


class InvalidPage(WeChatError):
    """errcode 41030: the page does not exist in the published mini program."""

    errcode = 41030


class SubscriptionRefused(WeChatError):
    """errcode 43101: the user has no consent left for this template."""

    errcode = 43101


class DailyQuotaReached(WeChatError):
    """errcode 45009: the API's daily quota is used up."""

    errcode = 45009


class MinuteQuotaReached(WeChatError):
    """errcode 45011: the API's per-minute quota is used up (or a forced refresh came too soon)."""

    errcode = 45011


class DataFormatError(WeChatError):
    """errcode 47001: the request body is not the JSON WeChat expects."""

    errcode = 47001


class InvalidArgument(WeChatError):
    """errcode 47003: an argument is invalid, e.g. a template value out of its limits."""

    errcode = 47003


class RealNameCodeInvalid(WeChatError):
    """errcode 80113: the real-name consent code is unknown, expired, used or another user's."""

    errcode = 80113


_BY_ERRCODE: dict[int, type[WeChatError]] = {
    cls.errcode: cls
    for cls in (
        WeChatBusy, InvalidCredential, InvalidGrantType, InvalidOpenid, InvalidAppId,
        InvalidCode, InvalidTemplate, InvalidAppSecret, CodeUsed, IpNotWhitelisted, CodeBlocked,
        TokenMissing, InvalidPage, TokenExpired, SubscriptionRefused, DailyQuotaReached,
        MinuteQuotaReached, DataFormatError, InvalidArgument, RealNameCodeInvalid,
    )
    if cls.errcode is not None
}


def error_for(errcode: int, errmsg: str) -> WeChatError:
    """The exception for an errcode: its named class, or WeChatError for codes we do not know."""
    return _BY_ERRCODE.get(errcode, WeChatError)(errmsg, errcode)
