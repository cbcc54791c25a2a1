"""WeChat errcodes map to named exceptions that say what to do and carry no secrets."""

from __future__ import annotations

import pickle

import pytest

from app.wechat import errors
from app.wechat.errors import (
    AccessTokenRejected,
    CodeBlocked,
    CodeUsed,
    InvalidCode,
    InvalidCredential,
    LoginCodeRejected,
    TokenExpired,
    TokenMissing,
    WeChatBusy,
    WeChatError,
    WeChatUnavailable,
    error_for,
)

DOCUMENTED = {
    -1: "WeChatBusy", 40001: "InvalidCredential", 40002: "InvalidGrantType",
    40003: "InvalidOpenid", 40013: "InvalidAppId", 40029: "InvalidCode",
    40037: "InvalidTemplate", 40125: "InvalidAppSecret", 40163: "CodeUsed",
    40164: "IpNotWhitelisted", 40226: "CodeBlocked", 41001: "TokenMissing",
    41030: "InvalidPage", 42001: "TokenExpired", 43101: "SubscriptionRefused",
    45009: "DailyQuotaReached", 45011: "MinuteQuotaReached", 47001: "DataFormatError",
    47003: "InvalidArgument", 80113: "RealNameCodeInvalid",
}


@pytest.mark.parametrize(("errcode", "name"), sorted(DOCUMENTED.items()))
def test_each_documented_errcode_has_its_named_exception(errcode: int, name: str) -> None:
    error = error_for(errcode, "some errmsg")
    assert type(error) is getattr(errors, name)
    assert (error.errcode, error.errmsg) == (errcode, "some errmsg")


def test_an_unknown_errcode_maps_to_the_base_class_and_keeps_its_code() -> None:
    error = error_for(48001, "api unauthorized")
    assert type(error) is WeChatError
    assert error.errcode == 48001
    assert str(error) == "api unauthorized (errcode 48001)"


def test_rejected_login_codes_share_a_base_class() -> None:
    for cls in (InvalidCode, CodeUsed, CodeBlocked):
        assert issubclass(cls, LoginCodeRejected)
    assert not isinstance(error_for(45011, "minute quota"), LoginCodeRejected)


def test_rejected_access_tokens_share_a_base_class() -> None:
    for cls in (InvalidCredential, TokenExpired, TokenMissing):
        assert issubclass(cls, AccessTokenRejected)


def test_an_unavailable_wechat_has_no_errcode() -> None:
    error = WeChatUnavailable("/sns/jscode2session: HTTP 502")
    assert error.errcode is None
    assert str(error) == "/sns/jscode2session: HTTP 502"


def test_errors_survive_pickling_with_their_errcode() -> None:
    for error in (WeChatBusy("system error"), error_for(48001, "api unauthorized"),
                  WeChatUnavailable("timeout")):
        copy = pickle.loads(pickle.dumps(error))
        assert (type(copy), copy.errcode, copy.errmsg) == (
            type(error), error.errcode, error.errmsg)
