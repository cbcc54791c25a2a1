"""A small populated world for the API-wide tests (the fuzzer and the authorization matrix):
a catalog, citizens with certificates and profile tags, two enterprises with agents of every
kind, admin accounts, and the real ids they name. It keeps plain strings only, so it outlives
the app context it was built in."""

from __future__ import annotations

import base64
import io
import itertools
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask import Flask

from app.cases.ratings import rate
from app.cases.uploads import store_upload
from app.catalog.upkeep import commit_catalog_change, create_bundle, put_synonym
from app.extensions import db
from app.identity.partner_signing import signature
from app.models import AdminAccount, Enterprise, User
from app.models.certificate import CertificateType
from app.models.tag import TagDefinition
from app.platform.orm import utcnow
from app.push import computed, memberships, rules
from app.push.tags import dispute
from tests import sample_files
from tests.conftest import SECRETS
from tests.factories import (
    BUSINESS_LICENCE_FIELDS,
    auth_headers,
    bind_user,
    create_admin,
    create_certificate_type,
    create_enterprise,
    create_item,
    create_theme,
    create_user,
    file_case,
    finish_case,
    issue_certificate,
)
from tests.inbox_factories import create_rule, create_run
from tests.personal_numbers import new_id_number

DEPARTMENT_KEY_ID, _DEPARTMENT_SECRET = SECRETS["DEPARTMENT_KEYS"].split(":")
# The people of the world, by the part they play towards the owner's objects.
CITIZENS = ("owner", "agent", "other_citizen", "other_agent", "expired_agent", "unscoped_agent")
# Each person is born on a day of their own, so no two ID numbers of the run are the same.
_birthdays = (date(1950, 1, 1) + timedelta(days=n) for n in itertools.count())
_PLACEHOLDER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
# The keys of the one error shape (DESIGN.md) that every failure answers in.
# Regions of the catalog (a county, the province, a prefecture) and one it does not know.
REGIONS = ("530102", "530000", "530300", "530199")


def api_routes(app: Flask, *, skip: tuple[str, ...] = ("static",)) -> set[str]:
    """`METHOD /path/{name}` for each route of the app, written as the OpenAPI document writes
    paths, but those whose endpoint starts with one of `skip`."""
    return {method + " " + _PLACEHOLDER.sub(r"{\1}", rule.rule)
            for rule in app.url_map.iter_rules() if not rule.endpoint.startswith(skip)
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def department_headers(method: str, path: str, body: bytes) -> dict[str, str]:
    """The headers a department system signs a request with (the test key)."""
    stamp = str(int(time.time()))
    sent = signature(base64.b64decode(_DEPARTMENT_SECRET), method, path, stamp, body)
    return {"X-Department-Key": DEPARTMENT_KEY_ID, "X-Timestamp": stamp, "X-Signature": sent}


@dataclass
class World:
    """Who can call, and the ids of what they own."""

    headers: dict[str, dict[str, str]] = field(default_factory=lambda: {"anonymous": {}})
    user_ids: dict[str, str] = field(default_factory=dict)
    admin_ids: dict[str, str] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def subject(self, caller: str) -> User | AdminAccount:
        """The caller's user or admin account, loaded afresh (inside an app context)."""
        if caller in self.user_ids:
            return db.session.get(User, int(self.user_ids[caller]))
        return db.session.get(AdminAccount, int(self.admin_ids[caller]))

    def parameter_values(self) -> dict[str, list[str]]:
        """Real values by the name of the parameter (path, query or body) that takes them."""
        ids = self.ids
        items = [ids["item"], ids["other_item"], ids["enterprise_item"], ids["open_item"]]
        return {
            "certificate_id": [ids["licence"], ids["business_licence"], ids["other_licence"]],
            "uscc": [ids["uscc"], ids["other_uscc"]],
            "enterprise": [ids["uscc"], ids["other_uscc"]],
            "user_id": [self.user_ids["agent"], self.user_ids["other_citizen"]],
            "code": [*items, ids["theme"], ids["enterprise_theme"], ids["bundle"]],
            "service_code": items,
            "theme": [ids["theme"], ids["enterprise_theme"]],
            "term": [ids["synonym"]],
            "region": list(REGIONS),
            "type": [ids["licence_type"], ids["business_type"]],
            "X-Department-Key": [DEPARTMENT_KEY_ID],
            "case_no": [ids["case"], ids["enterprise_case"], ids["upload_case"],
                        ids["rated_case"]],
            "rectification_id": [ids["rectification"]],
            "upload_id": [ids["upload"]],
            "material_id": ["m1"],
            "query_code": [ids["query_code"]],
            "name": [ids["tag"], ids["other_tag"], "region"],
            "tag": [ids["tag"], ids["other_tag"], "region:530102"],
            "dispute_id": [ids["dispute"]],
            "message_id": [ids["message"]],
            "template_id": ["tpl-service-reminder", "tpl-cert-expiry"],
            "rule_id": [ids["push_rule"], ids["draft_rule"], ids["submitted_rule"]],
        }


def create_person(name: str = "王芳") -> User:
    """A real-name verified user with an ID number no other test has."""
    return create_user(name=name, id_number=new_id_number(birth_date=next(_birthdays)))


def _catalog(world: World) -> tuple[CertificateType, CertificateType]:
    """Themes, items, a bundle and a synonym; returns the two certificate types."""
    licence = create_certificate_type()
    business = create_certificate_type(code="business_licence", name="营业执照",
                                       holder_kind="enterprise", fields=BUSINESS_LICENCE_FIELDS)
    create_theme()
    create_theme(code="enterprise_start", name="企业开办", audience="enterprise")
    materials = [{"id": "m1", "name": "机动车驾驶证", "certificate_type": licence.code}]
    item = create_item(name="驾驶证换证", materials=materials, keywords=("驾照",))
    other = create_item(name="社会保障卡申领")
    company = create_item(name="企业设立登记", themes=("enterprise_start",), audience="enterprise",
                          materials=[{"id": "m1", "name": "营业执照",
                                      "certificate_type": business.code}])
    # Nothing required: anyone may apply (the cases' routes are checked with it).
    open_item = create_item(name="图书馆读者证办理", materials=[
        {"id": "m1", "name": "个人照片", "required": False}])
    create_bundle({"code": "B901", "name": "驾驶证一件事", "audience": "personal",
                   "items": [item.code, other.code],
                   "form": {"fields": [{"name": "phone", "label": "电话", "type": "phone"}]}})
    put_synonym("驾照", ["机动车驾驶证"])
    commit_catalog_change()
    world.ids.update(item=item.code, other_item=other.code, enterprise_item=company.code,
                     open_item=open_item.code,
                     theme="social_security", enterprise_theme="enterprise_start",
                     bundle="B901", synonym="驾照", licence_type=licence.code,
                     business_type=business.code)
    return licence, business


def _people(world: World, licence: CertificateType, business: CertificateType
            ) -> dict[str, User]:
    """The owner (a legal representative), agents of every kind, and strangers."""
    people = {name: create_person("李明" if name == "owner" else "王芳") for name in CITIZENS}
    mine = create_enterprise(legal_rep=people["owner"], name="五华云岭食品有限公司")
    theirs = create_enterprise(name="盘龙山茶贸易有限公司", region_code="530103")
    bind_user(user=people["owner"], enterprise=mine)
    later, earlier = utcnow() + timedelta(days=365), utcnow() - timedelta(days=1)
    for name, enterprise, scopes, until in (
            ("agent", mine, "cases,certificates", later),
            ("expired_agent", mine, "cases,certificates", earlier),
            ("unscoped_agent", mine, "cases", later),
            ("other_agent", theirs, "cases,certificates", later)):
        bind_user(user=people[name], enterprise=enterprise, relation="agent", scopes=scopes,
                  expires_at=until)
    world.ids.update(
        uscc=mine.uscc, other_uscc=theirs.uscc,
        licence=str(issue_certificate(kind=licence, holder=people["owner"]).id),
        other_licence=str(issue_certificate(kind=licence, holder=people["other_citizen"]).id),
        business_licence=str(issue_certificate(kind=business, enterprise=mine, fields={
            "name": mine.name, "uscc": mine.uscc}).id),
        other_business_licence=str(issue_certificate(kind=business, enterprise=theirs, fields={
            "name": theirs.name, "uscc": theirs.uscc}).id))
    world.ids.update(_cases(world, people["owner"], mine))
    world.ids.update(_rectification(world, people["owner"]))
    return people


def _cases(world: World, owner: User, mine: Enterprise) -> dict[str, str]:
    """The owner's personal case, one filed for their enterprise, and another for it whose
    material m1 is a file the owner uploaded (`upload_case`, `upload`)."""
    personal = file_case(user=owner, code=world.ids["open_item"])
    company = file_case(user=owner, code=world.ids["enterprise_item"], enterprise=mine)
    scan = store_upload(owner, io.BytesIO(sample_files.pdf()), "营业执照.pdf")
    with_file = file_case(user=owner, code=world.ids["enterprise_item"], enterprise=mine,
                          materials=[{"material_id": "m1", "upload_id": scan.id}])
    return {"case": personal.case_no, "query_code": personal.query_code,
            "enterprise_case": company.case_no, "upload": scan.id,
            "upload_case": with_file.case_no}


def _rectification(world: World, owner: User) -> dict[str, str]:
    """A personal case of the owner's, approved and rated 1: the rectification it opened."""
    case = finish_case(case=file_case(user=owner, code=world.ids["open_item"]))
    _, rectification = rate(owner, case.case_no, 1, ["办理时间长"])
    db.session.commit()
    return {"rated_case": case.case_no, "rectification": str(rectification.id)}


def create_manual_tag(name: str, *, members: list[User]) -> str:
    """A manual tag (defined as if by an admin) that `members` carry; its name."""
    db.session.add(TagDefinition(name=name, kind="manual", description="测试标签"))
    memberships.grant_many([m.id for m in members], name, source="manual")
    db.session.commit()
    return name


def _tags(world: World, people: dict[str, User]) -> None:
    """Everyone's computed tags; two manual tags everyone carries, and an open dispute of the
    second by another citizen."""
    computed.refresh_users([person.id for person in people.values()])
    everyone = list(people.values())
    tag = create_manual_tag("life:newborn", members=everyone)
    other = create_manual_tag("life:retiring", members=everyone)
    record = dispute(people["other_citizen"], other, "不符合")
    db.session.commit()
    world.ids.update(tag=tag, other_tag=other, dispute=str(record.id))


def _messages(world: World, people: dict[str, User]) -> None:
    """An active push rule (`push_rule`) whose run's message reaches the owner alone."""
    rule = create_rule(audience="life:newborn", category="family", title="社保卡申领提醒",
                       body="新生儿可在线申领社会保障卡。", target_code=world.ids["other_item"])
    world.ids["push_rule"] = str(rule.id)
    world.ids["message"] = str(create_run(rule=rule, recipients=[people["owner"].id]).id)


def push_rule_body(world: World) -> dict[str, Any]:
    """A push rule every check passes, on a service of the world; cron, so approving it sends
    nothing at once."""
    return {"name": "养老金资格认证提醒", "audience": "region:5301 AND NOT optout:pension",
            "category": "pension", "message": {"title": "养老金资格认证",
                                               "body": "请在本月内完成养老金领取资格认证。",
                                               "service_code": world.ids["item"]},
            "channels": ["inbox"], "schedule": {"type": "cron", "expression": "0 9 * * 1"}}


def _push_rules(world: World) -> None:
    """Push rules by an author who never logs in here (so any admin of the world may approve
    them): a draft (`draft_rule`) and one submitted for approval (`submitted_rule`)."""
    author = AdminAccount(username="rule-author", password_hash="!")
    author.set_roles(["push_admin"])
    db.session.add(author)
    db.session.flush()
    draft = rules.create(author, push_rule_body(world))
    submitted = rules.create(author, {**push_rule_body(world), "name": "待审批的规则"})
    rules.submit(author, submitted.id)
    db.session.commit()
    world.ids.update(draft_rule=str(draft.id), submitted_rule=str(submitted.id))


def build_world(*, admins: Mapping[str, tuple[str, ...]]) -> World:
    """The catalog, the citizens and enterprises, and one admin account per entry of
    `admins` (caller name → roles); call it inside an app context."""
    world = World()
    people = _people(world, *_catalog(world))
    _tags(world, people)
    _messages(world, people)
    _push_rules(world)
    subjects: dict[str, User | AdminAccount] = dict(people)
    for name, roles in admins.items():
        institution = "昆明市五华区政务服务中心" if "verifier" in roles else None
        subjects[name] = create_admin(username=f"{name}-account", roles=roles,
                                      institution_name=institution)
    for name, subject in subjects.items():
        world.headers[name] = auth_headers(subject)
        ids = world.user_ids if isinstance(subject, User) else world.admin_ids
        ids[name] = str(subject.id)
    return world
