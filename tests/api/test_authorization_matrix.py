"""Who gets what: every route of the app × every kind of caller, with the answer each must get.

The objects named in paths belong to the owner (a citizen who is the legal representative of
an enterprise) or to the catalog. Another citizen gets 404 for the owner's certificates, as
for ones that do not exist; an enterprise's agent reaches its certificates only while the
delegation lasts and within its scopes; admin routes answer their roles (super_admin has every
admin role but not `verifier`); anonymous callers get 401. A route the table does not list
fails the suite, so a new route is checked from its first day.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.cases.ratings import rate
from app.cases.rectifications import follow_up
from app.catalog.upkeep import commit_catalog_change, create_bundle, put_synonym
from app.extensions import db
from app.identity.enterprises import find_enterprise
from app.models.admin import ADMIN_ROLES, VERIFIER_ROLE
from app.platform.orm import utcnow
from app.push import rules
from app.push.tags import dispute
from mini_program_stub.wechat_server import StubServer
from tests import sample_files
from tests.api.world import (
    CITIZENS,
    World,
    api_routes,
    build_world,
    create_manual_tag,
    create_person,
    department_headers,
    push_rule_body,
)
from tests.conftest import ERROR_SHAPE
from tests.factories import (
    ADMIN_PASSWORD,
    auth_headers,
    bind_user,
    create_certificate_type,
    create_enterprise,
    create_item,
    create_theme,
    file_case,
    finish_case,
    issue_certificate,
)
from tests.inbox_factories import create_rule, create_run
from tests.personal_numbers import new_id_number

ADMINS = (*ADMIN_ROLES, VERIFIER_ROLE)
CALLERS = (*CITIZENS, *ADMINS, "department", "anonymous")
_serial = itertools.count(1)
Value = Any  # a fixed value, or a function of the scene that makes a fresh one per request


class Scene(NamedTuple):
    """What a request is made from: the world, and the WeChat stub (for login codes)."""

    world: World
    stub: StubServer


def everyone(status: int) -> dict[str, int]:
    """Every caller gets `status`: the route does not ask who calls."""
    return dict.fromkeys(CALLERS, status)


def citizens(status: int, **others: int) -> dict[str, int]:
    """Mini program users get `status` (unless named); admins 403; the rest 401."""
    return {**dict.fromkeys(CITIZENS, status), **dict.fromkeys(ADMINS, 403),
            "department": 401, "anonymous": 401, **others}


def owner_only(status: int, stranger: int, **others: int) -> dict[str, int]:
    """The owner gets `status`, every other citizen `stranger` (unless named)."""
    return citizens(stranger, owner=status, **others)


def admins(role: str, status: int) -> dict[str, int]:
    """Holders of `role` (and super_admin, for admin roles) get `status`; everyone else with a
    token 403; the rest 401."""
    allowed = {role} | ({"super_admin"} if role != VERIFIER_ROLE else set())
    return {**dict.fromkeys(CITIZENS, 403),
            **{name: status if name in allowed else 403 for name in ADMINS},
            "department": 401, "anonymous": 401}


def department(status: int) -> dict[str, int]:
    """Only a signed department system gets `status`; tokens count for nothing (401)."""
    return {**dict.fromkeys(CALLERS, 401), "department": status}


@dataclass(frozen=True)
class Row:
    """One route with one object: the request, and what each caller must get."""

    method: str
    path: str  # as the OpenAPI document writes it: `/x/{name}`
    expected: dict[str, int]
    params: dict[str, Value] = field(default_factory=dict)
    body: Value = None
    query: dict[str, str] | None = None
    fresh_session: bool = False  # the request ends the caller's session

    def label(self) -> str:
        named = ", ".join(f"{name}={getattr(value, '__name__', value)}"
                          for name, value in self.params.items())
        return f"{self.method} {self.path}" + (f" ({named})" if named else "")


@dataclass(frozen=True)
class Multipart:
    """A multipart/form-data body: its file parts by name, as (content, file name)."""

    files: dict[str, tuple[bytes, str]]

    def parts(self) -> dict[str, tuple[io.BytesIO, str]]:
        return {name: (io.BytesIO(content), filename)
                for name, (content, filename) in self.files.items()}


def _made(value: Value, scene: Scene) -> Any:
    """The value itself, or what its function makes now."""
    return value(scene) if callable(value) else value


# Fresh objects for requests that change or delete what they name, so no cell spoils another.
def fresh_theme(scene: Scene) -> str:
    """A new theme's code."""
    return create_theme(code=f"matrix_{next(_serial)}", name="临时主题").code


def fresh_item(scene: Scene) -> str:
    """A new service item's code (in no bundle)."""
    return create_item(name="临时事项").code


def fresh_bundle(scene: Scene) -> str:
    """A new bundle's code."""
    bundle = create_bundle(bundle_body(scene))
    commit_catalog_change()
    return bundle.code


def fresh_synonym(scene: Scene) -> str:
    """A new synonym's term."""
    term = f"临时词{next(_serial)}"
    put_synonym(term, ["社会保障卡"])
    commit_catalog_change()
    return term


def fresh_enterprise(scene: Scene) -> str:
    """Another enterprise the owner represents, with the world's agents bound to it."""
    owner = scene.world.subject("owner")
    enterprise = create_enterprise(legal_rep=owner, name="五华云岭物流有限公司")
    bind_user(user=owner, enterprise=enterprise)
    for name in ("agent", "expired_agent", "unscoped_agent"):
        bind_user(user=scene.world.subject(name), enterprise=enterprise, relation="agent",
                  scopes="cases,certificates")
    return enterprise.uscc


def fresh_agent(scene: Scene) -> str:
    """The user id of a new agent of the owner's enterprise."""
    agent = create_person("赵强")
    enterprise = find_enterprise(scene.world.ids["uscc"])
    bind_user(user=agent, enterprise=enterprise, relation="agent", scopes="cases")
    return str(agent.id)


def fresh_certificate(scene: Scene) -> str:
    """The id of a new certificate of the owner's."""
    owner = scene.world.subject("owner")
    return str(issue_certificate(kind=create_certificate_type(), holder=owner).id)


def fresh_case(scene: Scene) -> str:
    """A new personal case of the owner's, just submitted."""
    return file_case(user=scene.world.subject("owner"), code=scene.world.ids["open_item"]).case_no


def fresh_enterprise_case(scene: Scene) -> str:
    """A new case the owner filed for their enterprise, just submitted."""
    world = scene.world
    return file_case(user=world.subject("owner"), code=world.ids["enterprise_item"],
                     enterprise=find_enterprise(world.ids["uscc"])).case_no


def case_event(scene: Scene) -> dict[str, Any]:
    return {"event_id": f"matrix-{next(_serial)}", "status": "accepted", "node": "受理",
            "at": utcnow().isoformat()}


def fresh_finished_case(scene: Scene) -> str:
    """A new personal case of the owner's, approved by its department."""
    return finish_case(case=file_case(user=scene.world.subject("owner"),
                                      code=scene.world.ids["open_item"])).case_no


def fresh_finished_enterprise_case(scene: Scene) -> str:
    """A new case the owner filed for their enterprise, approved by its department."""
    return finish_case(case=file_case(
        user=scene.world.subject("owner"), code=scene.world.ids["enterprise_item"],
        enterprise=find_enterprise(scene.world.ids["uscc"]))).case_no


def _rated_badly(scene: Scene, case_no: str) -> int:
    """The owner rates the case 1: the id of the rectification it opens."""
    _, rectification = rate(scene.world.subject("owner"), case_no, 1)
    db.session.commit()
    return rectification.id


def fresh_rectification(scene: Scene) -> str:
    """A new open rectification, of a personal case the owner rated 1."""
    return str(_rated_badly(scene, fresh_finished_case(scene)))


def _answered(scene: Scene, case_no: str) -> str:
    """The case rated 1 by the owner, and the rectification it opened replied to."""
    follow_up(_rated_badly(scene, case_no), "reply", scene.world.subject("catalog_admin"),
              reply="已整改")
    db.session.commit()
    return case_no


def fresh_answered_case(scene: Scene) -> str:
    """A new personal case the owner rated 1 and got an answer for."""
    return _answered(scene, fresh_finished_case(scene))


def fresh_answered_enterprise_case(scene: Scene) -> str:
    """A new enterprise case the owner rated 1 and got an answer for."""
    return _answered(scene, fresh_finished_enterprise_case(scene))


def fresh_tag(scene: Scene) -> str:
    """A new manual tag every citizen of the world carries."""
    people = [scene.world.subject(name) for name in CITIZENS]
    return create_manual_tag(f"matrix:tag{next(_serial)}", members=people)


def fresh_dispute(scene: Scene) -> str:
    """The id of the owner's new open dispute of a manual tag."""
    record = dispute(scene.world.subject("owner"), fresh_tag(scene), "不符合")
    db.session.commit()
    return str(record.id)


def fresh_message(scene: Scene) -> str:
    """The id of a new push run whose message reaches the owner alone."""
    rule = create_rule(name=f"矩阵规则{next(_serial)}", audience="life:newborn")
    return str(create_run(rule=rule, recipients=[int(scene.world.user_ids["owner"])]).id)


def _rule_through(scene: Scene, *moves: str) -> str:
    """A new push rule by the world's push_admin, taken through `moves` (approved by its
    push_approver); its id."""
    world = scene.world
    author, approver = world.subject("push_admin"), world.subject("push_approver")
    rule = rules.create(author, {**push_rule_body(world), "name": f"矩阵规则{next(_serial)}"})
    for move in moves:
        getattr(rules, move)(approver if move == "approve" else author, rule.id)
    db.session.commit()
    return str(rule.id)


def fresh_draft_rule(scene: Scene) -> str:
    """A new draft push rule."""
    return _rule_through(scene)


def fresh_submitted_rule(scene: Scene) -> str:
    """A new push rule waiting for approval."""
    return _rule_through(scene, "submit")


def fresh_active_rule(scene: Scene) -> str:
    """A new approved, live push rule."""
    return _rule_through(scene, "submit", "approve")


def fresh_paused_rule(scene: Scene) -> str:
    """A new push rule, approved and then paused."""
    return _rule_through(scene, "submit", "approve", "pause")


def bundle_body(scene: Scene) -> dict[str, Any]:
    """A valid new bundle of two of the world's items."""
    return {"code": f"B{8000 + next(_serial)}", "name": "临时一件事", "audience": "personal",
            "items": [scene.world.ids["item"], scene.world.ids["other_item"]],
            "form": {"fields": [{"name": "phone", "label": "电话", "type": "phone"}]}}


def item_body(scene: Scene) -> dict[str, Any]:
    """A valid new service item."""
    return {"code": f"XK{next(_serial):05d}001", "name": "临时事项", "department": "测试局",
            "audience": "personal", "themes": ["social_security"], "regions": ["530000"],
            "legal_limit_days": 20, "promised_limit_days": 5, "online_level": "全程网办"}


def _id(name: str) -> Callable[[Scene], str]:
    """The world's `name` (e.g. `licence`: the owner's driving licence)."""

    def real(scene: Scene) -> str:
        return scene.world.ids[name]

    real.__name__ = name
    return real


LICENCE, BUSINESS = {"certificate_id": _id("licence")}, {"certificate_id": _id("business_licence")}
MINE, ITEM, THEME = {"uscc": _id("uscc")}, {"code": _id("item")}, {"code": _id("theme")}
PRESENTATION = {"fields": None, "derived": [], "purpose": "酒店入住"}
CASE, COMPANY_CASE = {"case_no": _id("case")}, {"case_no": _id("enterprise_case")}
# Who reaches the enterprise's cases: its legal representative, and agents within scope and
# expiry (`unscoped_agent` lacks certificates, not cases); to everyone else they do not exist.
COMPANY_CASE_READERS = {"agent": 200, "unscoped_agent": 200}
# Without a comment: the world's citizens are not users the WeChat stub knows.
RATING, APPEAL = {"score": 5, "tags": ["办事效率高"]}, {"reason": "答复未解决问题"}
# 好差评 is followed up by catalog_admin, and read by auditors too.
RATING_READERS = {**admins("catalog_admin", 200), "auditor": 200}

# Profile tags are written by push_admin, read by approvers and auditors too; previews are for
# those who write or approve push rules.
TAG_READERS = {**admins("push_admin", 200), "push_approver": 200, "auditor": 200}
PREVIEWERS = {**admins("push_admin", 200), "push_approver": 200}
TAG = {"name": _id("tag")}
MESSAGE = {"message_id": _id("message")}
# Push rules: push_admin writes and submits, push_approver approves or rejects, either holds or
# stops a live rule; auditors read too.
RULE_READERS = TAG_READERS
RULE_STEWARDS = {**admins("push_admin", 200), "push_approver": 200}
DRAFT_RULE = {"rule_id": _id("draft_rule")}


def members(scene: Scene) -> dict[str, Any]:
    """The owner, named by id."""
    return {"user_ids": [scene.world.user_ids["owner"]]}


MATRIX: list[Row] = [
    Row("GET", "/healthz", everyone(200)),
    Row("GET", "/readyz", everyone(200)),
    Row("GET", "/.well-known/jwks.json", everyone(200)),
    Row("GET", "/api/v1/openapi.json", everyone(200)),
    Row("GET", "/api/v1/docs", everyone(200)),
    Row("GET", "/api/v1/docs/assets/docs-init.js", everyone(200)),
    Row("GET", "/api/v1/docs/assets/{filename}", everyone(200),
        {"filename": "swagger-ui.css"}),
    Row("POST", "/api/v1/auth/wechat-login", everyone(200),
        body=lambda scene: {"code": scene.stub.state.mint_code(f"matrix-{next(_serial)}")}),
    Row("POST", "/api/v1/auth/admin-login", everyone(200),
        body={"username": "auditor-account", "password": ADMIN_PASSWORD}),
    # An access token does not refresh a session: only the refresh token does.
    Row("POST", "/api/v1/auth/refresh", everyone(401)),
    Row("POST", "/api/v1/auth/logout", {**everyone(200), "department": 401, "anonymous": 401},
        fresh_session=True),
    Row("GET", "/api/v1/me", citizens(200)),
    # Every citizen of the world is verified already: a second identity is refused.
    Row("POST", "/api/v1/me/real-name", citizens(409),
        body=lambda scene: {"name": "李明", "id_number": new_id_number(), "code": "no-such-code"}),
    # Anyone may ask to be bound: the binding waits until the legal representative adds them.
    Row("POST", "/api/v1/me/enterprises", citizens(201),
        body=lambda scene: {"uscc": scene.world.ids["uscc"], "relation": "agent"}),
    # Agents may end their own binding; strangers are not bound.
    Row("DELETE", "/api/v1/me/enterprises/{uscc}",
        citizens(204, other_citizen=404, other_agent=404), {"uscc": fresh_enterprise}),
    # Enterprises are public record (the credit code registry): a 403 tells nothing private.
    Row("GET", "/api/v1/me/enterprises/{uscc}/agents", owner_only(200, 403), MINE),
    Row("POST", "/api/v1/me/enterprises/{uscc}/agents", owner_only(201, 403), MINE,
        body=lambda scene: {"user_id": str(create_person("赵强").id), "scopes": ["cases"]}),
    Row("DELETE", "/api/v1/me/enterprises/{uscc}/agents/{user_id}", owner_only(204, 403),
        {"uscc": _id("uscc"), "user_id": fresh_agent}),
    Row("GET", "/api/v1/me/favorites", citizens(200)),
    Row("PUT", "/api/v1/me/favorites/{code}", citizens(204), ITEM),
    Row("DELETE", "/api/v1/me/favorites/{code}", citizens(204), ITEM),
    Row("GET", "/api/v1/me/recent", citizens(200)),
    Row("GET", "/api/v1/home", everyone(200)),
    Row("GET", "/api/v1/themes", everyone(200)),
    Row("GET", "/api/v1/services", everyone(200)),
    Row("GET", "/api/v1/services/hot", everyone(200)),
    Row("GET", "/api/v1/services/{code}", everyone(200), ITEM),
    Row("POST", "/api/v1/services/{code}/visits", everyone(202), ITEM, body={}),
    Row("GET", "/api/v1/bundles", everyone(200)),
    Row("GET", "/api/v1/bundles/{code}", everyone(200), {"code": _id("bundle")}),
    Row("GET", "/api/v1/search", everyone(200), query={"q": "驾照"}),
    Row("GET", "/api/v1/services/{code}/materials/prefill", citizens(200), ITEM),
    Row("GET", "/api/v1/services/{code}/materials/prefill", owner_only(200, 403, agent=200),
        {"code": _id("enterprise_item")}, query={"enterprise": "{uscc}"}),
    Row("GET", "/api/v1/me/certificates", citizens(200)),
    Row("GET", "/api/v1/me/certificates/{certificate_id}", owner_only(200, 404), LICENCE),
    Row("GET", "/api/v1/me/certificates/{certificate_id}",
        owner_only(200, 404, agent=200), BUSINESS),
    Row("POST", "/api/v1/me/certificates/{certificate_id}/presentations", owner_only(201, 404),
        LICENCE, body=PRESENTATION),
    Row("POST", "/api/v1/me/certificates/{certificate_id}/presentations",
        owner_only(201, 404, agent=201), BUSINESS, body=PRESENTATION),
    Row("GET", "/api/v1/me/certificates/{certificate_id}/access-log", owner_only(200, 404),
        LICENCE),
    Row("GET", "/api/v1/me/certificates/{certificate_id}/access-log",
        owner_only(200, 404, agent=200), BUSINESS),
    Row("POST", "/api/v1/cases", citizens(201),
        body=lambda scene: {"service_code": scene.world.ids["open_item"]}),
    Row("GET", "/api/v1/me/cases", citizens(200)),
    Row("GET", "/api/v1/me/cases", owner_only(200, 403, **COMPANY_CASE_READERS),
        query={"enterprise": "{uscc}"}),
    Row("GET", "/api/v1/cases/lookup", everyone(200),
        query={"case_no": "{case}", "query_code": "{query_code}"}),
    Row("GET", "/api/v1/cases/{case_no}", owner_only(200, 404), CASE),
    Row("GET", "/api/v1/cases/{case_no}", owner_only(200, 404, **COMPANY_CASE_READERS),
        COMPANY_CASE),
    Row("POST", "/api/v1/cases/{case_no}/withdraw", owner_only(200, 404),
        {"case_no": fresh_case}, body={}),
    Row("POST", "/api/v1/cases/{case_no}/withdraw",
        owner_only(200, 404, **COMPANY_CASE_READERS), {"case_no": fresh_enterprise_case},
        body={}),
    # A file is its uploader's alone, until it joins a case: then the case's readers read it.
    Row("POST", "/api/v1/uploads", citizens(201),
        body=Multipart({"file": (sample_files.png(), "照片.pdf")})),
    Row("GET", "/api/v1/uploads/{upload_id}", owner_only(200, 404), {"upload_id": _id("upload")}),
    Row("GET", "/api/v1/cases/{case_no}/materials/{material_id}/file",
        owner_only(200, 404, **COMPANY_CASE_READERS),
        {"case_no": _id("upload_case"), "material_id": "m1"}),
    Row("POST", "/api/v1/integrations/cases/{case_no}/events", department(200),
        {"case_no": fresh_case}, body=case_event),
    Row("POST", "/api/v1/cases/{case_no}/rating", owner_only(201, 404),
        {"case_no": fresh_finished_case}, body=RATING),
    Row("POST", "/api/v1/cases/{case_no}/rating",
        owner_only(201, 404, agent=201, unscoped_agent=201),
        {"case_no": fresh_finished_enterprise_case}, body=RATING),
    Row("GET", "/api/v1/cases/{case_no}/rating", owner_only(200, 404),
        {"case_no": _id("rated_case")}),
    Row("POST", "/api/v1/cases/{case_no}/rating/appeal", owner_only(200, 404),
        {"case_no": fresh_answered_case}, body=APPEAL),
    # The enterprise's agents see its case, but only the one who rated it may appeal.
    Row("POST", "/api/v1/cases/{case_no}/rating/appeal",
        owner_only(200, 404, agent=403, unscoped_agent=403),
        {"case_no": fresh_answered_enterprise_case}, body=APPEAL),
    Row("POST", "/api/v1/verifications", admins(VERIFIER_ROLE, 200), body={"token": "x.y.z"}),
    Row("POST", "/api/v1/integrations/certificates", department(201), body=lambda scene: {
        "event_id": f"matrix-{next(_serial)}", "type": "driving_licence",
        "holder": {"id_number": new_id_number()}, "number": f"MX{next(_serial):08d}",
        "fields": {"name": "李明"}, "issued_at": "2024-01-01T00:00:00+08:00"}),
    Row("POST", "/api/v1/integrations/certificates/{certificate_id}/revoke", department(200),
        {"certificate_id": fresh_certificate},
        body=lambda scene: {"event_id": f"matrix-{next(_serial)}", "reason": "证件注销"}),
    Row("POST", "/api/v1/admin/themes", admins("catalog_admin", 201),
        body=lambda scene: {"code": f"matrix_{next(_serial)}", "name": "临时主题"}),
    Row("PATCH", "/api/v1/admin/themes/{code}", admins("catalog_admin", 200), THEME,
        body={"name": "社会保障服务"}),
    Row("DELETE", "/api/v1/admin/themes/{code}", admins("catalog_admin", 204),
        {"code": fresh_theme}),
    Row("POST", "/api/v1/admin/services", admins("catalog_admin", 201), body=item_body),
    Row("PATCH", "/api/v1/admin/services/{code}", admins("catalog_admin", 200), ITEM,
        body={"fee": "不收费"}),
    Row("DELETE", "/api/v1/admin/services/{code}", admins("catalog_admin", 204),
        {"code": fresh_item}),
    Row("POST", "/api/v1/admin/bundles", admins("catalog_admin", 201), body=bundle_body),
    Row("PATCH", "/api/v1/admin/bundles/{code}", admins("catalog_admin", 200),
        {"code": _id("bundle")}, body={"name": "驾驶证换证一件事"}),
    Row("DELETE", "/api/v1/admin/bundles/{code}", admins("catalog_admin", 204),
        {"code": fresh_bundle}),
    Row("GET", "/api/v1/admin/synonyms", admins("catalog_admin", 200)),
    Row("PUT", "/api/v1/admin/synonyms/{term}", admins("catalog_admin", 200),
        {"term": _id("synonym")}, body={"expansions": ["机动车驾驶证"]}),
    Row("DELETE", "/api/v1/admin/synonyms/{term}", admins("catalog_admin", 204),
        {"term": fresh_synonym}),
    Row("GET", "/api/v1/admin/audit-log", admins("auditor", 200)),
    Row("GET", "/api/v1/admin/rectifications", RATING_READERS),
    Row("GET", "/api/v1/admin/rectifications/{rectification_id}", RATING_READERS,
        {"rectification_id": _id("rectification")}),
    Row("PATCH", "/api/v1/admin/rectifications/{rectification_id}",
        admins("catalog_admin", 200), {"rectification_id": fresh_rectification},
        body={"action": "assign", "assignee": "窗口科"}),
    Row("GET", "/api/v1/admin/ratings/stats", RATING_READERS),
    Row("GET", "/api/v1/me/tags", citizens(200)),
    # Every citizen carries the fresh tag: each disputes their own membership of it.
    Row("POST", "/api/v1/me/tags/{tag}/dispute", citizens(201), {"tag": fresh_tag},
        body={"reason": "不符合"}),
    Row("GET", "/api/v1/me/push-preferences", citizens(200)),
    Row("PUT", "/api/v1/me/push-preferences", citizens(200),
        body={"muted_categories": ["pension"], "quiet_hours": {"start": "22:00", "end": "07:00"},
              "wechat_enabled": True}),
    Row("POST", "/api/v1/me/subscriptions", citizens(200),
        body={"template_id": "tpl-service-reminder", "result": "accept"}),
    # A message reaches the people in its run: the owner alone; to the rest it does not exist.
    Row("GET", "/api/v1/me/messages", citizens(200)),
    Row("GET", "/api/v1/me/messages/{message_id}", owner_only(200, 404), MESSAGE),
    Row("POST", "/api/v1/me/messages/{message_id}/read", owner_only(200, 404), MESSAGE),
    Row("POST", "/api/v1/me/messages/{message_id}/click", owner_only(200, 404), MESSAGE),
    Row("POST", "/api/v1/me/messages/{message_id}/dismiss", owner_only(204, 404),
        {"message_id": fresh_message}),
    Row("GET", "/api/v1/admin/tags", TAG_READERS),
    Row("POST", "/api/v1/admin/tags", admins("push_admin", 201),
        body=lambda scene: {"name": f"matrix:new{next(_serial)}", "kind": "manual"}),
    Row("GET", "/api/v1/admin/tags/{name}", TAG_READERS, TAG),
    Row("PATCH", "/api/v1/admin/tags/{name}", admins("push_admin", 200), TAG,
        body={"description": "家中有新生儿"}),
    Row("POST", "/api/v1/admin/tags/{name}/members", admins("push_admin", 200), TAG,
        body=members),
    Row("POST", "/api/v1/admin/tags/{name}/members", admins("push_admin", 200), TAG,
        body=lambda scene: Multipart({"file": (scene.world.user_ids["owner"].encode(),
                                                "members.csv")})),
    Row("POST", "/api/v1/admin/tags/{name}/members/remove", admins("push_admin", 200),
        {"name": fresh_tag}, body=members),
    Row("GET", "/api/v1/admin/tag-disputes", TAG_READERS),
    Row("POST", "/api/v1/admin/tag-disputes/{dispute_id}/resolve", admins("push_admin", 200),
        {"dispute_id": fresh_dispute}, body={"outcome": "upheld"}),
    Row("POST", "/api/v1/admin/audiences/preview", PREVIEWERS,
        body={"audience": "region:5301 AND NOT optout:pension"}),
    # A rule's results are read by those who read tags: push_admin, approvers, auditors.
    Row("GET", "/api/v1/admin/push-rules/{rule_id}/stats", TAG_READERS,
        {"rule_id": _id("push_rule")}),
    Row("POST", "/api/v1/admin/push-rules", admins("push_admin", 201),
        body=lambda scene: push_rule_body(scene.world)),
    Row("GET", "/api/v1/admin/push-rules", RULE_READERS, query={"status": "draft"}),
    Row("GET", "/api/v1/admin/push-rules/{rule_id}", RULE_READERS, DRAFT_RULE),
    Row("PATCH", "/api/v1/admin/push-rules/{rule_id}", admins("push_admin", 200), DRAFT_RULE,
        body={"priority": "urgent"}),
    Row("POST", "/api/v1/admin/push-rules/{rule_id}/preview", PREVIEWERS, DRAFT_RULE),
    Row("POST", "/api/v1/admin/push-rules/{rule_id}/submit", admins("push_admin", 200),
        {"rule_id": fresh_draft_rule}),
    # The approver is never the author (the world's push_admin wrote these).
    Row("POST", "/api/v1/admin/push-rules/{rule_id}/approve", admins("push_approver", 200),
        {"rule_id": fresh_submitted_rule}),
    Row("POST", "/api/v1/admin/push-rules/{rule_id}/reject", admins("push_approver", 200),
        {"rule_id": fresh_submitted_rule}, body={"note": "请写明办理期限"}),
    Row("POST", "/api/v1/admin/push-rules/{rule_id}/pause", RULE_STEWARDS,
        {"rule_id": fresh_active_rule}),
    Row("POST", "/api/v1/admin/push-rules/{rule_id}/resume", RULE_STEWARDS,
        {"rule_id": fresh_paused_rule}),
    Row("POST", "/api/v1/admin/push-rules/{rule_id}/stop", RULE_STEWARDS,
        {"rule_id": fresh_active_rule}),
]


@pytest.fixture
def scene(app: Flask, wechat_stub: StubServer) -> Scene:
    """The world with one account per admin role (and a verifier)."""
    with app.app_context():
        world = build_world(admins={role: (role,) for role in ADMINS})
    return Scene(world, wechat_stub)


@pytest.fixture
def citizens_world(app: Flask) -> World:
    """The world without admin accounts (their password hashes take a while)."""
    with app.app_context():
        return build_world(admins={})


def _request_parts(app: Flask, scene: Scene, row: Row) -> tuple[dict[str, str], Any]:
    with app.app_context():
        return ({name: str(_made(value, scene)) for name, value in row.params.items()},
                _made(row.body, scene))


def send(client: FlaskClient, app: Flask, scene: Scene, row: Row, caller: str,
         refused: dict[int, tuple[dict[str, str], Any]]) -> TestResponse:
    """The row's request as `caller` makes it. A caller who is to succeed gets objects of its
    own; those who are to be refused share one (they must leave it as it was)."""
    succeeds = 200 <= row.expected[caller] < 300
    if succeeds or id(row) not in refused:
        parts = _request_parts(app, scene, row)
        if not succeeds:
            refused[id(row)] = parts
    params, body = parts if succeeds else refused[id(row)]
    headers = scene.world.headers.get(caller, {})
    if row.fresh_session and succeeds:
        with app.app_context():
            headers = auth_headers(scene.world.subject(caller))
    path = row.path.format(**params)
    query = {name: value.format(**scene.world.ids) for name, value in (row.query or {}).items()}
    if isinstance(body, Multipart):
        raw, data, content_type = b"", body.parts(), "multipart/form-data"
    else:
        raw = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        data, content_type = raw or None, "application/json" if raw else None
    if caller == "department":
        headers = department_headers(row.method, path, raw)
    return client.open(path, method=row.method, headers=headers, query_string=query,
                       data=data, content_type=content_type)


def test_every_route_answers_every_caller_as_the_matrix_says(app, client, scene):
    wrong, refused = [], {}
    for row, caller in itertools.product(MATRIX, CALLERS):
        response = send(client, app, scene, row, caller, refused)
        expected = row.expected[caller]
        if response.status_code != expected:
            wrong.append(f"{row.label()} as {caller}: {response.status_code}, expected "
                         f"{expected}: {response.get_data(as_text=True)[:160]}")
        elif response.status_code >= 400:
            assert response.get_json().keys() >= ERROR_SHAPE, row.label()
    assert wrong == [], "\n".join(wrong)


def test_every_route_of_the_app_has_rows_in_the_matrix(app):
    assert api_routes(app) - {f"{row.method} {row.path}" for row in MATRIX} == set()


def test_every_row_says_what_every_caller_gets():
    assert [row.label() for row in MATRIX if set(row.expected) != set(CALLERS)] == []


def test_certificate_lists_hold_exactly_what_each_caller_reaches(client, citizens_world):
    ids = citizens_world.ids
    reaches = {"owner": {ids["licence"], ids["business_licence"]},
               "agent": {ids["business_licence"]}, "other_citizen": {ids["other_licence"]},
               "other_agent": {ids["other_business_licence"]}}
    for caller in CITIZENS:
        items = client.get("/api/v1/me/certificates",
                           headers=citizens_world.headers[caller]).get_json()["items"]
        assert {item["id"] for item in items} == reaches.get(caller, set()), caller


@pytest.mark.parametrize("suffix", ["", "/access-log"])
def test_someone_elses_certificate_answers_like_one_that_does_not_exist(client, citizens_world,
                                                                      suffix):
    stranger = citizens_world.headers["other_citizen"]

    def answer(certificate_id: str) -> tuple[int, dict]:
        response = client.get(f"/api/v1/me/certificates/{certificate_id}{suffix}",
                              headers=stranger)
        return response.status_code, {**response.get_json(), "request_id": None}

    assert answer(citizens_world.ids["licence"]) == answer("987654321")
