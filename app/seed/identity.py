"""Demo people, enterprises and a verifier institution, with fixed WeChat openids.

Every ID number and USCC here is generated (valid check characters, fictitious people).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.identity.admin_accounts import ensure_admin
from app.identity.real_name import ID_NUMBER_INDEX
from app.identity.wechat_login import new_invite_code
from app.models import Enterprise, EnterpriseBinding, User
from app.platform.orm import utcnow
from app.privacy.vault import vault
from app.seed.fake_identifiers import fake_id_number, fake_uscc

# openid, nickname, name, region of registration, birth date, sequence (odd: male)
DEMO_PEOPLE = [
    ("demo-citizen-1", "小李", "李明", "530102", date(1990, 5, 12), 31),
    ("demo-citizen-2", "老王", "王建国", "530103", date(1966, 12, 15), 17),
    ("demo-legal-rep-1", "张总", "张丽华", "530102", date(1980, 3, 8), 42),
    ("demo-agent-1", "小赵", "赵强", "530111", date(1995, 9, 1), 57),
]
# People WeChat knows as real-named who have not used the mini program yet: openid, name, and
# the region, birth date and sequence of their ID number. The registry knows them as a legal
# representative; they bind their company after proving their real name through WeChat.
WECHAT_ONLY_PEOPLE = [
    ("demo-legal-rep-2", "陈志远", ("530111", date(1975, 6, 20), 13)),
]
# uscc serial, name, region, industry, legal representative (openid, or a registry-only person)
DEMO_ENTERPRISES = [
    (1, "昆明五华云岭食品有限公司", "530102", "餐饮服务", "demo-legal-rep-1"),
    (2, "云南滇池物流有限公司", "530111", "道路运输", WECHAT_ONLY_PEOPLE[0][2]),
    (3, "昆明翠湖文化传媒有限公司", "530102", "文化传媒", ("530102", date(1988, 1, 5), 21)),
]
AGENT_EXPIRES_AT = datetime(2027, 12, 31, 16, 0, tzinfo=UTC)  # end of 2027, Beijing time


def demo_id_number(openid: str) -> str:
    for person in DEMO_PEOPLE:
        if person[0] == openid:
            return fake_id_number(person[3], person[4], person[5])
    raise KeyError(openid)


def demo_real_names() -> list[tuple[str, str, str]]:
    """(openid, name, ID number) of every demo person, as WeChat's real-name records hold them."""
    people = [(openid, name, fake_id_number(region, birth, sequence))
              for openid, _, name, region, birth, sequence in DEMO_PEOPLE]
    return people + [(openid, name, fake_id_number(*number))
                     for openid, name, number in WECHAT_ONLY_PEOPLE]


def _seed_people() -> tuple[dict[str, User], int]:
    cipher = vault()
    users = {u.openid: u for u in db.session.scalars(
        sa.select(User).where(User.openid.in_([p[0] for p in DEMO_PEOPLE])))}
    changed = 0
    for openid, nickname, name, region, birth, sequence in DEMO_PEOPLE:
        if openid in users:
            continue
        number = fake_id_number(region, birth, sequence)
        user = User(openid=openid, nickname=nickname, invite_code=new_invite_code(),
                    real_name_enc=cipher.encrypt(name, "user.real_name"),
                    id_number_enc=cipher.encrypt(number, "user.id_number"),
                    id_number_index=cipher.blind_index(number, ID_NUMBER_INDEX),
                    birth_date=birth, gender="male" if sequence % 2 else "female",
                    region_code=region, real_name_verified_at=utcnow())
        db.session.add(user)
        users[openid] = user
        changed += 1
    db.session.flush()
    return users, changed


def _legal_rep_index(rep: str | tuple, users: dict[str, User]) -> str:
    if isinstance(rep, str):
        return users[rep].id_number_index
    return vault().blind_index(fake_id_number(*rep), ID_NUMBER_INDEX)


def _bind(user: User, enterprise: Enterprise, relation: str, scopes: str = "",
          expires_at: datetime | None = None, granted_by: User | None = None) -> int:
    exists = db.session.scalar(sa.select(EnterpriseBinding.id).where(
        EnterpriseBinding.user_id == user.id, EnterpriseBinding.enterprise_id == enterprise.id))
    if exists:
        return 0
    db.session.add(EnterpriseBinding(
        user_id=user.id, enterprise=enterprise, relation=relation, status="verified",
        scopes=scopes, expires_at=expires_at,
        granted_by_user_id=granted_by.id if granted_by else None))
    return 1


def seed_identity() -> int:
    """Demo users, registry enterprises, bindings and the verifier account; returns changes."""
    users, changed = _seed_people()
    enterprises = {e.uscc: e for e in db.session.scalars(sa.select(Enterprise))}
    for serial, name, region, industry, rep in DEMO_ENTERPRISES:
        uscc = fake_uscc(region, serial)
        if uscc not in enterprises:
            enterprises[uscc] = Enterprise(uscc=uscc, name=name, region_code=region,
                                           industry=industry,
                                           legal_rep_id_index=_legal_rep_index(rep, users))
            db.session.add(enterprises[uscc])
            changed += 1
    db.session.flush()
    food = enterprises[fake_uscc("530102", 1)]
    changed += _bind(users["demo-legal-rep-1"], food, "legal_representative")
    changed += _bind(users["demo-agent-1"], food, "agent", "cases,certificates", AGENT_EXPIRES_AT,
                     users["demo-legal-rep-1"])
    changed += ensure_admin("verifier", current_app.config["DEMO_ADMIN_PASSWORD"], ["verifier"],
                            institution_name="昆明市五华区政务服务中心", display_name="窗口核验员")
    return changed
