"""Logging a mini program user in with the code from `wx.login`."""

from __future__ import annotations

import logging
import secrets

import sqlalchemy as sa

from app.extensions import db
from app.identity.sessions import TokenPair, start_session
from app.models import User
from app.platform.errors import RateLimited, Unauthenticated, Unavailable
from app.platform.events import emit
from app.platform.orm import utcnow
from app.platform.rate_limit import RateLimit, enforce
from app.wechat import CircuitOpen, wechat_client
from app.wechat.errors import LoginCodeRejected, MinuteQuotaReached, WeChatError

log = logging.getLogger(__name__)

LOGINS_PER_OPENID = RateLimit(limit=20, window_seconds=60)
INVITE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud over the phone


def new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(8))


def login_with_code(code: str) -> tuple[User, TokenPair, bool]:
    """Exchange the code at WeChat, find or create the user, open a session.

    Returns the user, the tokens and whether the user is new. The caller commits.
    """
    try:
        info = wechat_client().code_to_session(code)
    except LoginCodeRejected:
        raise Unauthenticated("登录凭证无效或已使用，请重新登录", error="wechat_code_invalid",
                              errors={"code": ["invalid"]}) from None
    except MinuteQuotaReached:
        raise RateLimited("登录过于频繁，请稍后再试", retry_after_seconds=60) from None
    except CircuitOpen as exc:
        # WeChat failed this process's last calls: answer at once instead of waiting on it.
        raise Unavailable("微信服务繁忙，请稍后再试",
                          retry_after_seconds=exc.retry_after_seconds) from None
    except WeChatError as exc:
        log.error("wechat login failed: errcode %s", exc.errcode)
        raise Unavailable("微信服务繁忙，请稍后再试", retry_after_seconds=5) from None
    enforce("login_openid", info.openid, LOGINS_PER_OPENID)
    user = db.session.scalar(sa.select(User).where(User.openid == info.openid))
    created = user is None
    if user is None:
        user = User(openid=info.openid, invite_code=new_invite_code())
        db.session.add(user)
    if info.unionid and user.unionid != info.unionid:
        user.unionid = info.unionid
    user.last_login_at = utcnow()
    db.session.flush()
    if created:
        emit("user.registered", user_id=user.id)
    return user, start_session(user), created
