"""Small keyword-only builders of test data; each commits what it makes."""

from __future__ import annotations

import itertools
from datetime import datetime

from app.admin_accounts import create_admin as _create_admin
from app.extensions import db
from app.identifier_fakes import fake_uscc
from app.identifiers import parse_id_number
from app.models import AdminAccount, Enterprise, EnterpriseBinding, User
from app.orm import utcnow
from app.real_name import ID_NUMBER_INDEX
from app.sessions import start_session
from app.vault import vault
from tests.personal_numbers import new_id_number

_serial = itertools.count(1000)
ADMIN_PASSWORD = "correct-horse-battery"


def create_user(*, openid: str | None = None, name: str | None = "测试用户",
                id_number: str | None = None, verified: bool = True) -> User:
    n = next(_serial)
    user = User(openid=openid or f"openid-{n}", invite_code=f"INV{n:05d}", nickname=f"user{n}")
    if verified:
        number = id_number or new_id_number()
        facts = parse_id_number(number)
        cipher = vault()
        user.real_name_enc = cipher.encrypt(name, "user.real_name")
        user.id_number_enc = cipher.encrypt(number, "user.id_number")
        user.id_number_index = cipher.blind_index(number, ID_NUMBER_INDEX)
        user.birth_date, user.gender, user.region_code = (facts.birth_date, facts.gender,
                                                          facts.region_code)
        user.real_name_verified_at = utcnow()
    db.session.add(user)
    db.session.commit()
    return user


def create_enterprise(*, legal_rep: User | None = None, legal_rep_id_number: str | None = None,
                      name: str = "测试科技有限公司", region_code: str = "530102",
                      industry: str = "软件和信息技术服务") -> Enterprise:
    number = legal_rep_id_number or (None if legal_rep else new_id_number())
    index = (legal_rep.id_number_index if legal_rep
             else vault().blind_index(number, ID_NUMBER_INDEX))
    enterprise = Enterprise(uscc=fake_uscc(region_code[:4] + "00", next(_serial)), name=name,
                            region_code=region_code, industry=industry, legal_rep_id_index=index)
    db.session.add(enterprise)
    db.session.commit()
    return enterprise


def bind_user(*, user: User, enterprise: Enterprise, relation: str = "legal_representative",
              status: str = "verified", scopes: str = "", expires_at: datetime | None = None
              ) -> EnterpriseBinding:
    binding = EnterpriseBinding(user_id=user.id, enterprise=enterprise, relation=relation,
                                status=status, scopes=scopes, expires_at=expires_at)
    db.session.add(binding)
    db.session.commit()
    return binding


def create_admin(*, username: str = "alice", roles: tuple[str, ...] = ("super_admin",),
                 institution_name: str | None = None) -> AdminAccount:
    account = _create_admin(username, ADMIN_PASSWORD, list(roles), institution_name)
    db.session.commit()
    return account


def auth_headers(subject: User | AdminAccount) -> dict[str, str]:
    """Headers of a fresh session of `subject`, as after a login."""
    pair = start_session(subject)
    db.session.commit()
    return {"Authorization": f"Bearer {pair.access_token}"}
