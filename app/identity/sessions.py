"""Login sessions as token families: issue, rotate on refresh, revoke on logout or theft.

Each login starts a family (an `AuthSession` row). Access tokens live 15 minutes, refresh
tokens 30 days; a refresh hands out a new pair and retires the old refresh token. Presenting a
retired refresh token means it was copied, so the whole family is revoked. The revocation lives
in the database; Redis only caches each family's state, so flushing Redis forgets nothing.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_jwt_extended import create_access_token, create_refresh_token

from app.extensions import db, redis_store
from app.models import AdminAccount, AuthSession, User
from app.platform.errors import Unauthenticated, Unavailable
from app.platform.orm import utcnow

log = logging.getLogger(__name__)

ACCESS_TOKEN_TTL = timedelta(minutes=15)
REFRESH_TOKEN_TTL = timedelta(days=30)
# An active family is re-checked in the database this often; a revoked one is remembered for as
# long as an access token of it could still be presented.
ACTIVE_STATE_TTL_SECONDS = 300
REVOKED_STATE_TTL_SECONDS = int(ACCESS_TOKEN_TTL.total_seconds()) + 60


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_at: datetime
    session_id: str


def _state_key(session_id: str) -> str:
    return f"session:state:{session_id}"


def _cache_state(session_id: str, state: str) -> bool:
    ttl = REVOKED_STATE_TTL_SECONDS if state == "revoked" else ACTIVE_STATE_TTL_SECONDS
    return bool(redis_store.attempt(lambda r: r.set(_state_key(session_id), state, ex=ttl),
                                    False))


def _claims_for(subject: User | AdminAccount) -> dict[str, Any]:
    if isinstance(subject, User):
        return {"kind": "user", "roles": ["citizen"]}
    return {"kind": "admin", "roles": subject.roles}


def _issue(auth_session: AuthSession, subject: User | AdminAccount, refresh_jti: str
           ) -> TokenPair:
    claims = {**_claims_for(subject), "fam": auth_session.id}
    access = create_access_token(str(subject.id), additional_claims=claims,
                                 expires_delta=ACCESS_TOKEN_TTL)
    refresh = create_refresh_token(str(subject.id),
                                   additional_claims={**claims, "jti": refresh_jti},
                                   expires_delta=REFRESH_TOKEN_TTL)
    return TokenPair(access, refresh, utcnow() + ACCESS_TOKEN_TTL, auth_session.id)


def start_session(subject: User | AdminAccount) -> TokenPair:
    """Open a new token family for a user or an admin; the caller commits."""
    refresh_jti = uuid.uuid4().hex
    auth_session = AuthSession(id=uuid.uuid4().hex, expires_at=utcnow() + REFRESH_TOKEN_TTL,
                               refresh_jti=refresh_jti)
    if isinstance(subject, User):
        auth_session.user_id = subject.id
    else:
        auth_session.admin_id = subject.id
    db.session.add(auth_session)
    return _issue(auth_session, subject, refresh_jti)


def refresh_session(claims: dict[str, Any], subject: User | AdminAccount) -> TokenPair:
    """Rotate the family of a presented refresh token; reuse of a retired one revokes it all."""
    session_id, jti = claims.get("fam"), claims.get("jti")
    auth_session = db.session.get(AuthSession, session_id) if session_id else None
    if auth_session is None or auth_session.revoked_at is not None:
        raise Unauthenticated("登录凭证已失效，请重新登录", error="token_revoked")
    new_jti = uuid.uuid4().hex
    # Compare-and-set, so two refreshes racing with one token cannot both succeed.
    rotated = db.session.execute(
        sa.update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.refresh_jti == jti,
               AuthSession.revoked_at.is_(None))
        .values(refresh_jti=new_jti, refreshed_at=utcnow(),
                expires_at=utcnow() + REFRESH_TOKEN_TTL)
        .execution_options(synchronize_session=False)
    ).rowcount
    if rotated != 1:
        log.warning("retired refresh token presented; revoking session family %s", session_id)
        # Without Redis the answer stays 401, as the presenter must log in again either way;
        # the family's access tokens then die at once on workers reading the database and
        # within ACTIVE_STATE_TTL_SECONDS on any that still read a copy cached in Redis.
        revoke_session(session_id, "refresh_reuse")
        db.session.commit()  # the revocation must stick although the request fails
        raise Unauthenticated("登录凭证已失效，请重新登录", error="token_revoked")
    return _issue(auth_session, subject, new_jti)


def revoke_session(session_id: str, reason: str) -> bool:
    """Revoke a family in the database and tell every worker through the cache; False when
    the cache could not be told."""
    db.session.execute(
        sa.update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .execution_options(synchronize_session=False))
    told = _cache_state(session_id, "revoked")
    if not told:
        log.warning("session family %s revoked without redis", session_id)
    return told


def log_out(session_id: str) -> None:
    """Revoke the family of the token that logs out; the caller commits.

    The one write that needs Redis: an "active" state cached there before it became
    unreachable would let workers that still read it accept the family's access tokens for
    up to ACTIVE_STATE_TTL_SECONDS more, so "logged out" cannot be promised. The revocation is
    committed anyway (refresh dies at once everywhere), and `Unavailable` (503) asks the
    client to log out again: once Redis answers, the retry replaces a stale state or is
    refused as revoked, which means the same.
    """
    if not revoke_session(session_id, "logout"):
        db.session.commit()  # the revocation must stick although the request fails
        raise Unavailable("退出登录尚未在所有服务器生效，请稍后重试", retry_after_seconds=5)


def session_is_revoked(session_id: str | None) -> bool:
    """True when the family is revoked, expired or unknown; cached, the database decides."""
    if not session_id:
        return True
    state = redis_store.attempt(lambda r: r.get(_state_key(session_id)), None)
    if state is not None:
        return state == "revoked"
    row = db.session.execute(
        sa.select(AuthSession.revoked_at, AuthSession.expires_at)
        .where(AuthSession.id == session_id)).first()
    revoked = row is None or row.revoked_at is not None or row.expires_at <= utcnow()
    _cache_state(session_id, "revoked" if revoked else "active")
    return revoked


def caller_of(claims: dict[str, Any]) -> User | AdminAccount | None:
    """The user or admin account a token's claims speak for; None when it is gone or disabled."""
    model = User if claims.get("kind") == "user" else AdminAccount
    caller = db.session.get(model, int(claims["sub"]))
    if isinstance(caller, AdminAccount) and not caller.is_active:
        return None
    return caller
