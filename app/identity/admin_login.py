"""Password login of admin and verifier accounts, with lockout after repeated failures."""

from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.identity.admin_accounts import find_admin, password_matches
from app.identity.sessions import TokenPair, start_session
from app.models import AdminAccount
from app.platform import audit
from app.platform.errors import RateLimited, Unauthenticated
from app.platform.orm import utcnow

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)


def _refuse(message: str = "用户名或密码错误") -> Unauthenticated:
    return Unauthenticated(message, error="invalid_credentials", errors={"password": [message]})


def _record_failure(account: AdminAccount) -> None:
    now = utcnow()
    window_start = account.first_failed_login_at
    if window_start is None or now - window_start > FAILURE_WINDOW:
        account.first_failed_login_at, account.failed_logins = now, 0
    account.failed_logins += 1
    if account.failed_logins >= MAX_FAILURES:
        account.locked_until = now + LOCKOUT
        audit.record("admin.locked_out", actor=account, target_type="admin_account",
                     target_id=account.id)


def admin_login(username: str, password: str) -> tuple[AdminAccount, TokenPair]:
    """Check the password and open a session; failures count towards a lockout.

    Failures are committed even though the request fails, or the lockout would never trigger.
    """
    account = find_admin(username)
    if account is None or not account.is_active:
        # Hash anyway so a missing account costs the same time as a wrong password.
        password_matches(AdminAccount(password_hash=_DUMMY_HASH), password)
        audit.record("admin.login_failed", actor=None, actor_name=username[:64],
                     target_type="admin_account")
        db.session.commit()
        raise _refuse()
    now = utcnow()
    if account.locked_until is not None and account.locked_until > now:
        retry_after = int((account.locked_until - now).total_seconds()) + 1
        minutes = retry_after // 60 + 1
        message = f"密码错误次数过多，请 {minutes} 分钟后再试"
        raise RateLimited(message, error="account_locked", errors={"username": [message]},
                          retry_after_seconds=retry_after)
    if not password_matches(account, password):
        _record_failure(account)
        audit.record("admin.login_failed", actor=account, target_type="admin_account",
                     target_id=account.id)
        db.session.commit()
        raise _refuse()
    account.failed_logins, account.first_failed_login_at, account.locked_until = 0, None, None
    audit.record("admin.login", actor=account, target_type="admin_account", target_id=account.id)
    return account, start_session(account)


# scrypt hash of a random password nobody knows; only used to spend the same time.
_DUMMY_HASH = ("scrypt:32768:8:1$0nLq5QJwQ1bXk3yv$2d4bd8a1d4c3a9f1f0a7d7c1b3e2f5a6c8d9e0f1"
               "a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b")
