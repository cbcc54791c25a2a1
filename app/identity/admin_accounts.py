"""Admin and verifier accounts: creation and password checks."""

from __future__ import annotations

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import AdminAccount
from app.models.admin import ACCOUNT_ROLES
from app.platform.errors import Conflict, InvalidInput

MIN_PASSWORD_LENGTH = 10


def hash_password(password: str) -> str:
    """A slow, salted hash (scrypt) so a stolen table does not give up passwords."""
    return generate_password_hash(password, method="scrypt")


def password_matches(account: AdminAccount, password: str) -> bool:
    return check_password_hash(account.password_hash, password)


def find_admin(username: str) -> AdminAccount | None:
    return db.session.scalar(sa.select(AdminAccount).where(AdminAccount.username == username))


def validate_roles(roles: list[str]) -> list[str]:
    unknown = sorted(set(roles) - set(ACCOUNT_ROLES))
    if unknown:
        raise InvalidInput("roles", "未知角色：" + "、".join(unknown), unknown)
    return sorted(set(roles))


def create_admin(username: str, password: str, roles: list[str],
                 institution_name: str | None = None, display_name: str = "") -> AdminAccount:
    """Add an account; the caller commits."""
    if find_admin(username) is not None:
        raise Conflict("用户名已存在", errors={"username": ["已存在"]})
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput("password", f"密码至少 {MIN_PASSWORD_LENGTH} 位", ["too short"])
    account = AdminAccount(username=username, password_hash=hash_password(password),
                           institution_name=institution_name, display_name=display_name)
    account.set_roles(validate_roles(roles))
    db.session.add(account)
    return account


def ensure_admin(username: str, password: str, roles: list[str],
                 institution_name: str | None = None, display_name: str = "") -> bool:
    """Create the account if missing, else align its roles; True when anything changed."""
    account = find_admin(username)
    if account is None:
        create_admin(username, password, roles, institution_name, display_name)
        return True
    if account.roles == sorted(set(roles)) and account.institution_name == institution_name:
        return False
    account.set_roles(validate_roles(roles))
    account.institution_name = institution_name
    return True
