"""Small keyword-only builders of test data; each commits what it makes."""

from __future__ import annotations

import itertools
from datetime import datetime

import sqlalchemy as sa

from app.extensions import db
from app.identity.admin_accounts import create_admin as _create_admin
from app.identity.real_name import ID_NUMBER_INDEX
from app.identity.sessions import start_session
from app.models import AdminAccount, Enterprise, EnterpriseBinding, User
from app.platform.orm import utcnow
from app.privacy.identifiers import parse_id_number
from app.privacy.vault import vault
from app.seed.fake_identifiers import fake_uscc
from mini_program_stub.real_name import real_names
from mini_program_stub.wechat_server import StubServer
from tests.personal_numbers import new_certificate_number, new_id_number, remember_secrets

_serial = itertools.count(1000)
ADMIN_PASSWORD = "correct-horse-battery"
remember_secrets([ADMIN_PASSWORD])


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


def real_name_consent(*, stub: StubServer, openid: str, name: str | None = None,
                      id_number: str | None = None) -> str:
    """The code WeChat's consent page gives `openid`, whose WeChat real name becomes `name`
    and `id_number` when both are given (else WeChat keeps whatever it has, or none)."""
    records = real_names(stub.app)
    if name is not None and id_number is not None:
        records.set_record(openid, name, id_number)
    return records.mint_code(openid)


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


REGIONS = [("530000", "云南省", None, "province"), ("530100", "昆明市", "530000", "prefecture"),
           ("530102", "五华区", "530100", "county"), ("530103", "盘龙区", "530100", "county"),
           ("530300", "曲靖市", "530000", "prefecture"), ("530302", "麒麟区", "530300", "county")]
_item_serial = itertools.count(1)


def create_regions() -> None:
    from app.models import Region

    for code, name, parent, level in REGIONS:
        if db.session.get(Region, code) is None:
            db.session.add(Region(code=code, name=name, parent_code=parent, level=level))
    db.session.commit()


def create_theme(*, code: str = "social_security", name: str = "社会保障",
                 audience: str = "personal", sort_order: int = 0):
    from app.catalog.upkeep import commit_catalog_change
    from app.catalog.upkeep import create_theme as _create

    theme = _create({"code": code, "name": name, "audience": audience, "sort_order": sort_order})
    commit_catalog_change()
    return theme


def create_item(*, code: str | None = None, name: str = "社会保障卡申领",
                themes: tuple[str, ...] = ("social_security",), audience: str = "personal",
                regions: tuple[str, ...] = ("530000",), online_level: str = "全程网办",
                materials: list[dict] | None = None, keywords: tuple[str, ...] = (),
                faqs: list[dict] | None = None, pinned: bool = False, sort_order: int = 0,
                legal_limit_days: int = 20, promised_limit_days: int = 5):
    """A service item in existing themes (create them first) and regions; the certificate
    types its materials name are made when missing."""
    from app.catalog.upkeep import commit_catalog_change
    from app.catalog.upkeep import create_item as _create

    create_regions()
    if materials is None:
        materials = [{"id": "m1", "name": "居民身份证", "certificate_type": "id_card"}]
    for kind in {m.get("certificate_type") for m in materials} - {None}:
        if _certificate_type(kind) is None:
            create_certificate_type(code=kind, name=kind)
    item = _create({
        "code": code or f"GF{next(_item_serial):05d}001", "name": name, "department": "测试局",
        "audience": audience, "themes": list(themes), "regions": list(regions),
        "online_level": online_level, "keywords": list(keywords), "faqs": faqs or [],
        "materials": materials,
        "steps": [{"name": "申请", "description": "在线提交"}], "pinned": pinned,
        "sort_order": sort_order, "legal_limit_days": legal_limit_days,
        "promised_limit_days": promised_limit_days})
    commit_catalog_change()
    return item


DRIVING_LICENCE_FIELDS = [
    {"name": "name", "label": "姓名", "sensitive": False, "display": True},
    {"name": "number", "label": "证号", "sensitive": True, "display": False},
    {"name": "birth_date", "label": "出生日期", "sensitive": True, "display": False},
    {"name": "address", "label": "住址", "sensitive": True, "display": False},
    {"name": "licence_class", "label": "准驾车型", "sensitive": False, "display": True},
]
BUSINESS_LICENCE_FIELDS = [
    {"name": "name", "label": "企业名称", "sensitive": False, "display": True},
    {"name": "number", "label": "证号", "sensitive": False, "display": False},
    {"name": "uscc", "label": "统一社会信用代码", "sensitive": False, "display": True},
]


def _certificate_type(code: str):
    from app.models.certificate import CertificateType

    return db.session.scalar(sa.select(CertificateType).where(CertificateType.code == code))


def create_certificate_type(*, code: str = "driving_licence", name: str = "机动车驾驶证",
                            holder_kind: str = "personal", fields: list | None = None):
    """A certificate type; one of the same code (made for an item's materials) is reused."""
    from app.models.certificate import CertificateType

    kind = _certificate_type(code)
    if kind is None:
        kind = CertificateType(code=code, type_code=f"T{next(_serial) % 10000:04d}",
                               issuer="测试发证机关", issuer_uscc=fake_uscc("530000", 77),
                               validity_years=6, number_field="number")
        db.session.add(kind)
    kind.name, kind.holder_kind = name, holder_kind
    kind.fields = fields or (DRIVING_LICENCE_FIELDS if holder_kind == "personal"
                             else BUSINESS_LICENCE_FIELDS)
    db.session.commit()
    return kind


def issue_certificate(*, kind, holder: User | None = None, id_number: str | None = None,
                      enterprise: Enterprise | None = None, fields: dict | None = None,
                      expires_at: datetime | None = None, number: str | None = None):
    """A certificate for a user (by their ID), an ID number, or an enterprise."""
    from datetime import timedelta

    from app.certificates.issuing import issue

    if holder is not None:
        id_number = vault().decrypt(holder.id_number_enc, "user.id_number")
    serial = str(next(_serial))
    certificate = issue(
        kind, holder_id_number=id_number, holder_uscc=enterprise.uscc if enterprise else None,
        number=number or new_certificate_number(), serial=serial,
        fields=fields if fields is not None else {
            "name": "李明", "birth_date": "1990-05-12", "address": "五华区翠湖南路1号",
            "licence_class": "C1"},
        issued_at=utcnow() - timedelta(days=365),
        expires_at=expires_at or utcnow() + timedelta(days=365))
    db.session.commit()
    return certificate


def file_case(*, user: User, code: str, enterprise: Enterprise | None = None,
              form: dict | None = None, materials: list | None = None):
    """A case the user filed through the domain, as POST /cases files it."""
    from app.cases.submission import submit

    body = {"service_code": code, "form": form or {}, "materials": materials or []}
    if enterprise is not None:
        body["enterprise_uscc"] = enterprise.uscc
    case, _ = submit(user, body)
    db.session.commit()
    return case


def finish_case(*, case, status: str = "approved", at: datetime | None = None):
    """The case accepted and then approved (or rejected) by its department, as its events
    would move it; a bundle's member moves its parent along."""
    from app.cases.lifecycle import move
    from app.cases.progress import follow_parent

    at = at or utcnow()
    move(case, "accepted", source="department", at=at)
    move(case, status, source="department", at=at)
    follow_parent(case)
    db.session.commit()
    return case
