"""Cases through the API: applying (materials, 免提交, idempotency, bundles, instant approval),
following them (lists, detail, the lookup without login), withdrawing, department events and
their timeline, time limits in working days, overdue cases, and rating a finished case."""

from __future__ import annotations

import importlib
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from app.catalog.upkeep import commit_catalog_change, create_bundle, update_item
from app.certificates.issuing import revoke
from app.extensions import db
from app.models import User
from app.models.case import Case, Upload
from app.models.event import DomainEvent
from app.platform.clock import CHINA_TZ
from app.platform.events import subscribe, unsubscribe
from tests.api.world import department_headers
from tests.factories import (
    BUSINESS_LICENCE_FIELDS,
    auth_headers,
    bind_user,
    create_certificate_type,
    create_enterprise,
    create_item,
    create_theme,
    create_user,
    issue_certificate,
)
from tests.personal_numbers import new_id_number, new_phone_number

API = "/api/v1"
SENIOR_FIELDS = [
    {"name": "name", "label": "姓名", "sensitive": False, "display": True},
    {"name": "number", "label": "证号", "sensitive": True, "display": False},
    {"name": "birth_date", "label": "出生日期", "sensitive": True, "display": False},
    {"name": "issue_date", "label": "发证日期", "sensitive": False, "display": True},
]
RENEWAL_FORM = {"fields": [
    {"name": "applicant", "label": "申请人", "type": "text", "required": True},
    {"name": "id_number", "label": "身份证号", "type": "id_number"},
    {"name": "phone", "label": "联系电话", "type": "phone"},
]}
# The modules whose "now" a test moves: every clock the cases read.
CLOCKED_MODULES = ("app.cases.lifecycle", "app.cases.submission", "app.cases.reading",
                   "app.cases.progress", "app.cases.tasks", "app.cases.ratings")


def china(text: str) -> datetime:
    """A moment written in China time, `2026-09-21 09:00`."""
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


def shown(text: str) -> str:
    """A moment as the API writes it, `2026-09-21T09:00:00+08:00`."""
    return china(text).isoformat(timespec="seconds")


class Clock:
    """The cases' "now", set by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, text: str) -> None:
        self.now = china(text)


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock(china("2026-09-21 09:00"))
    for name in CLOCKED_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:  # ratings: its test fails on the missing route instead
            continue
        monkeypatch.setattr(module, "utcnow", clock)
    return clock


@dataclass
class Scene:
    """A catalog of items, a company with its business licence, and its people."""

    codes: dict[str, str] = field(default_factory=dict)
    people: dict[str, User] = field(default_factory=dict)
    uscc: str = ""
    business_licence: str = ""
    licence_kind: Any = None
    business_kind: Any = None

    def headers(self, who: str, **extra: str) -> dict[str, str]:
        return {**auth_headers(self.people[who]), **extra}


def _catalog(scene: Scene) -> None:
    business = scene.business_kind = create_certificate_type(
        code="business_licence", name="营业执照", holder_kind="enterprise",
        fields=BUSINESS_LICENCE_FIELDS)
    scene.licence_kind = create_certificate_type()
    create_certificate_type(code="senior_card", name="老年人优待证", fields=SENIOR_FIELDS)
    create_theme()
    create_theme(code="enterprise_start", name="企业开办", audience="enterprise")
    company = create_item(name="企业设立登记", themes=("enterprise_start",),
                          audience="enterprise", materials=[
                              {"id": "m1", "name": "营业执照", "certificate_type": business.code}])
    renewal = create_item(name="驾驶证换证", materials=[
        {"id": "m1", "name": "机动车驾驶证", "certificate_type": "driving_licence"},
        {"id": "m2", "name": "个人照片", "required": False}])
    photo = create_item(name="居住证申领", materials=[{"id": "m1", "name": "个人照片 "}])
    open_item = create_item(name="图书馆读者证办理",
                            materials=[{"id": "m1", "name": "个人照片", "required": False}])
    senior = create_item(name="老年人优待证办理", materials=[])
    update_item(renewal.code, {"form": RENEWAL_FORM})
    update_item(senior.code, {"instant_approval": {
        "conditions": [{"kind": "age", "min": 60}, {"kind": "region", "within": "53"}],
        "result_certificate_type": "senior_card"}})
    create_bundle({"code": "B801", "name": "驾驶证与居住证一件事", "audience": "personal",
                   "items": [renewal.code, photo.code],
                   "form": {"fields": [{"name": "phone", "label": "电话", "type": "phone"}]}})
    commit_catalog_change()
    scene.codes.update(company=company.code, renewal=renewal.code, photo=photo.code,
                       open=open_item.code, senior=senior.code, bundle="B801")


def _people(scene: Scene) -> None:
    people = scene.people
    people["owner"] = create_user(name="李明")
    company = create_enterprise(legal_rep=people["owner"], name="五华云岭食品有限公司")
    bind_user(user=people["owner"], enterprise=company)
    later, earlier = datetime.now(UTC) + timedelta(days=365), datetime.now(UTC) - timedelta(days=1)
    for name, scopes, until in (("agent", "cases", later),
                                ("certificates_agent", "certificates", later),
                                ("expired_agent", "cases,certificates", earlier)):
        people[name] = create_user(name="王芳")
        bind_user(user=people[name], enterprise=company, relation="agent", scopes=scopes,
                  expires_at=until)
    people["citizen"] = create_user(name="张伟")
    people["stranger"] = create_user(name="赵强")
    scene.uscc = company.uscc
    scene.business_licence = str(issue_certificate(
        kind=scene.business_kind, enterprise=company,
        fields={"name": company.name, "uscc": company.uscc}).id)


@pytest.fixture
def scene(app_context) -> Scene:
    scene = Scene()
    _catalog(scene)
    _people(scene)
    return scene


def file(client, scene: Scene, who: str, code: str, *, key: str | None = None,
         **body: Any):
    headers = scene.headers(who, **({"Idempotency-Key": key} if key else {}))
    return client.post(f"{API}/cases", headers=headers, json={"service_code": code, **body})


def file_for_company(client, scene: Scene, who: str = "agent"):
    return file(client, scene, who, scene.codes["company"], enterprise_uscc=scene.uscc,
                materials=[{"material_id": "m1", "certificate_id": scene.business_licence}])


def event(client, case_no: str, event_id: str, status: str, at: str, **extra: Any):
    """A department's signed status event for the case."""
    path = f"{API}/integrations/cases/{case_no}/events"
    raw = json.dumps({"event_id": event_id, "status": status, "at": shown(at), **extra},
                     ensure_ascii=False).encode()
    return client.post(path, data=raw, content_type="application/json",
                       headers=department_headers("POST", path, raw))


def read(client, scene: Scene, who: str, case_no: str):
    return client.get(f"{API}/cases/{case_no}", headers=scene.headers(who))


def without_request_id(response) -> dict:
    body = dict(response.get_json())
    body.pop("request_id")
    return body


def raw_without_request_id(response) -> bytes:
    """The body's bytes, its request id blanked: the rest must match byte for byte."""
    return response.get_data().replace(response.get_json()["request_id"].encode(), b"")


def events_named(name: str) -> list[DomainEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(DomainEvent).where(DomainEvent.name == name)
                                   .order_by(DomainEvent.id)))


def new_upload(owner: User) -> str:
    upload = Upload(id=secrets.token_hex(16), owner_user_id=owner.id, content_type="image/jpeg",
                    size=1024, sha256="0" * 64, filename="photo.jpg")
    db.session.add(upload)
    db.session.commit()
    return upload.id


# The product's acceptance scenario ----------------------------------------------------------


def test_an_agent_files_for_the_company_and_the_department_moves_it_to_the_end(
        client, scene, clock):
    clock.set("2026-09-21 09:00")                       # a Monday
    filed = file_for_company(client, scene)
    assert filed.status_code == 201, filed.get_json()
    case = filed.get_json()
    case_no = case["case_no"]
    assert re.fullmatch(r"5320260921\d{7}", case_no)
    assert re.fullmatch(r"[23456789A-HJKMNP-Z]{8}", case["query_code"])
    assert case["status"] == "submitted" and case["kind"] == "item"
    assert case["enterprise"] == {"uscc": scene.uscc, "name": "五华云岭食品有限公司"}
    assert case["materials"] == [{"material_id": "m1", "name": "营业执照", "source": "certificate",
                                  "certificate_id": scene.business_licence, "upload_id": None}]
    # Five working days: the Mid-Autumn Friday and the weekend after it do not count.
    assert case["due_at"] == shown("2026-09-29 23:59:59")
    assert case["working_days_left"] == 5 and case["overdue"] is False

    # The department accepts it (and its system sends the acceptance twice) ...
    clock.set("2026-09-22 10:00")
    accepted = event(client, case_no, "dept-evt-1", "accepted", "2026-09-22 09:30", node="受理")
    again = event(client, case_no, "dept-evt-1", "accepted", "2026-09-22 09:30", node="受理")
    assert accepted.status_code == again.status_code == 200
    assert again.get_json() == accepted.get_json()
    assert accepted.get_json()["status"] == "accepted" and accepted.get_json()["nodes"] == 2
    # ... approves it, and reports the review that came between after the approval.
    clock.set("2026-09-24 11:00")
    approved = event(client, case_no, "dept-evt-3", "approved", "2026-09-24 10:00",
                     node="办结", note="准予登记")
    late = event(client, case_no, "dept-evt-2", "in_review", "2026-09-23 15:00", node="审查")
    assert approved.get_json()["status"] == "approved"
    assert late.status_code == 200, late.get_json()
    assert late.get_json()["status"] == "approved" and late.get_json()["nodes"] == 4

    seen = read(client, scene, "agent", case_no).get_json()
    assert [(n["name"], n["status"], n["at"]) for n in seen["nodes"]] == [
        ("提交申请", "submitted", shown("2026-09-21 09:00")),
        ("受理", "accepted", shown("2026-09-22 09:30")),
        ("审查", "in_review", shown("2026-09-23 15:00")),
        ("办结", "approved", shown("2026-09-24 10:00"))]
    assert seen["nodes"][-1]["note"] == "准予登记"
    assert seen["status"] == "approved" and seen["status_label"] == "已办结"
    assert seen["closed_at"] == shown("2026-09-24 10:00")
    assert seen["working_days_left"] is None and seen["overdue"] is False
    assert seen["can_rate"] is True and seen["can_withdraw"] is False
    # The legal representative follows the company's cases too.
    listed = client.get(f"{API}/me/cases", headers=scene.headers("owner")).get_json()
    assert [c["case_no"] for c in listed["items"]] == [case_no]
    # Each change of status was announced once; the repeated and the late event changed none.
    assert [e.payload["status"] for e in events_named("case.moved")] == ["accepted", "approved"]
    assert [e.payload["case_no"] for e in events_named("case.finished")] == [case_no]


def finished_company_case(client, scene: Scene, clock: Clock) -> str:
    clock.set("2026-09-21 09:00")
    case_no = file_for_company(client, scene).get_json()["case_no"]
    clock.set("2026-09-24 11:00")
    for event_id, status, at in (("e1", "accepted", "2026-09-22 09:30"),
                                 ("e2", "in_review", "2026-09-23 15:00"),
                                 ("e3", "approved", "2026-09-24 10:00")):
        assert event(client, case_no, event_id, status, at).status_code == 200
    return case_no


def test_a_bad_rating_opens_a_rectification_due_past_the_weekend_and_the_holidays(
        app, client, scene, clock, monkeypatch):
    monkeypatch.setitem(app.config, "RECTIFICATION_WORKING_DAYS", 5)
    case_no = finished_company_case(client, scene, clock)
    clock.set("2026-09-24 15:00")                       # Thursday
    rated = client.post(f"{API}/cases/{case_no}/rating", headers=scene.headers("agent"),
                        json={"score": 2, "tags": ["办理时间长"], "comment": ""})
    assert rated.status_code == 201, rated.get_json()
    body = rated.get_json()
    assert body["score"] == 2 and body["tags"] == ["办理时间长"]
    # Mid-Autumn (Friday 09-25), the weekend, then National Day (10-01 … 10-07) are skipped:
    # Mon 28, Tue 29, Wed 30, Thu 10-08, Fri 10-09.
    assert body["rectification"]["status"] == "open"
    assert body["rectification"]["due_at"] == shown("2026-10-09 23:59:59")
    seen = read(client, scene, "agent", case_no).get_json()
    assert seen["rating"]["score"] == 2 and seen["can_rate"] is False
    again = client.post(f"{API}/cases/{case_no}/rating", headers=scene.headers("owner"),
                        json={"score": 5, "tags": [], "comment": ""})
    assert again.status_code == 409


def test_a_citizen_is_approved_instantly_and_holds_the_result_certificate(
        client, scene, clock):
    clock.set("2026-11-20 10:00")
    elder = create_user(name="王秀英", id_number=new_id_number(birth_date=date(1950, 5, 1)))
    scene.people["elder"] = elder
    filed = file(client, scene, "elder", scene.codes["senior"])
    assert filed.status_code == 201, filed.get_json()
    case = filed.get_json()
    assert case["status"] == "approved" and case["instant"] is True
    assert case["closed_at"] == case["submitted_at"] == shown("2026-11-20 10:00")
    assert [n["status"] for n in case["nodes"]] == ["submitted", "approved"]
    assert "秒批通过" in case["nodes"][-1]["note"] and "老年人优待证" in case["nodes"][-1]["note"]
    held = client.get(f"{API}/me/certificates", headers=scene.headers("elder")).get_json()
    cards = [c for c in held["items"] if c["type"]["code"] == "senior_card"]
    assert len(cards) == 1 and cards[0]["status"] == "valid"
    assert cards[0]["holder_masked"] == "王**"


def test_an_applicant_the_rule_cannot_prove_goes_to_the_normal_queue(client, scene, clock):
    clock.set("2026-11-20 10:00")
    filed = file(client, scene, "citizen", scene.codes["senior"])   # born in 1990
    case = filed.get_json()
    assert filed.status_code == 201 and case["status"] == "submitted"
    assert case["instant"] is False
    assert [n["name"] for n in case["nodes"]] == ["提交申请", "秒批核验"]
    assert "年满60周岁：未能核验" in case["nodes"][1]["note"]
    held = client.get(f"{API}/me/certificates", headers=scene.headers("citizen")).get_json()
    assert held["items"] == []


@pytest.mark.parametrize("outsider", ["certificates_agent", "expired_agent", "stranger"])
def test_who_does_not_reach_the_company_for_cases_sees_none_of_its_cases(
        client, scene, clock, outsider):
    case_no = file_for_company(client, scene).get_json()["case_no"]
    listed = client.get(f"{API}/me/cases", headers=scene.headers(outsider)).get_json()
    assert listed["items"] == [] and listed["total"] == 0
    hidden = read(client, scene, outsider, case_no)
    nobodys = read(client, scene, outsider, "53209901010000001")
    assert hidden.status_code == nobodys.status_code == 404
    assert without_request_id(hidden) == without_request_id(nobodys)
    assert raw_without_request_id(hidden) == raw_without_request_id(nobodys)
    refused = client.get(f"{API}/me/cases", query_string={"enterprise": scene.uscc},
                         headers=scene.headers(outsider))
    assert refused.status_code == 403
    withdraw = client.post(f"{API}/cases/{case_no}/withdraw", json={},
                           headers=scene.headers(outsider))
    assert withdraw.status_code == 404
    assert file_for_company(client, scene, outsider).status_code == 403
    # Those who do reach it see it.
    for reader in ("owner", "agent"):
        assert read(client, scene, reader, case_no).status_code == 200


def test_a_wrong_query_code_cannot_tell_whether_the_case_exists(client, scene, clock):
    case = file(client, scene, "citizen", scene.codes["open"]).get_json()
    right = case["query_code"]
    wrong = next(c for c in ("ABCDEFGH", "HGFEDCBA") if c != right)
    with_wrong_code = client.get(f"{API}/cases/lookup",
                                 query_string={"case_no": case["case_no"], "query_code": wrong})
    unknown_case = client.get(f"{API}/cases/lookup",
                              query_string={"case_no": "53209901010000001", "query_code": wrong})
    assert with_wrong_code.status_code == unknown_case.status_code == 404
    assert without_request_id(with_wrong_code) == without_request_id(unknown_case)
    assert raw_without_request_id(with_wrong_code) == raw_without_request_id(unknown_case)


# POST /cases: what a submission must carry -------------------------------------------------


def test_an_unknown_service_or_bundle_is_404(client, scene):
    for code in ("GF99999001", "B999"):
        response = file(client, scene, "citizen", code)
        assert response.status_code == 404, code
        assert response.get_json()["error"] == "not_found"


def test_a_malformed_service_code_is_422(client, scene):
    response = file(client, scene, "citizen", "not-a-code")
    assert response.status_code == 422 and "service_code" in response.get_json()["errors"]


def test_a_personal_item_cannot_be_filed_for_an_enterprise(client, scene):
    response = file(client, scene, "owner", scene.codes["open"], enterprise_uscc=scene.uscc)
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["enterprise_uscc"]


def test_an_enterprise_item_needs_the_enterprise(client, scene):
    response = file(client, scene, "owner", scene.codes["company"], materials=[
        {"material_id": "m1", "certificate_id": scene.business_licence}])
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["enterprise_uscc"]


def renewal(client, scene: Scene, who: str = "citizen", *, form: dict | None = None,
            materials: list | None = None):
    return file(client, scene, who, scene.codes["renewal"],
                form={"applicant": "张伟"} if form is None else form,
                materials=materials or [])


@pytest.fixture
def citizen_licence(scene):
    return issue_certificate(kind=scene.licence_kind, holder=scene.people["citizen"])


@pytest.mark.parametrize(("form", "field"), [
    ({}, "form.applicant"),
    ({"applicant": "   "}, "form.applicant"),
    ({"applicant": "张伟", "id_number": "530102199001010000"}, "form.id_number"),
    ({"applicant": "张伟", "phone": "12345"}, "form.phone"),
    ({"applicant": "张伟", "nickname": "小张"}, "form"),
])
def test_a_form_breaking_its_definition_is_422_naming_the_field(
        client, scene, citizen_licence, form, field):
    response = renewal(client, scene, form=form)
    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["errors"]) == [field]


def test_a_missing_required_material_is_named(client, scene):
    response = renewal(client, scene)       # holds no driving licence
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "material_missing"
    assert body["errors"] == {"materials": ["m1: 机动车驾驶证"]}
    assert "机动车驾驶证" in body["message"]


def test_a_held_certificate_fills_a_required_material_without_being_sent(
        client, scene, citizen_licence, clock):
    response = renewal(client, scene)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["materials"] == [
        {"material_id": "m1", "name": "机动车驾驶证", "source": "certificate",
         "certificate_id": str(citizen_licence.id), "upload_id": None}]


def test_of_two_valid_certificates_of_a_type_the_newer_one_is_filed(
        client, scene, citizen_licence):
    newer = issue_certificate(kind=scene.licence_kind, holder=scene.people["citizen"])
    materials = renewal(client, scene).get_json()["materials"]
    assert materials[0]["certificate_id"] == str(newer.id)


def test_an_expired_certificate_is_not_filled_in(client, scene, clock):
    clock.set("2026-11-20 10:00")
    issue_certificate(kind=scene.licence_kind, holder=scene.people["citizen"],
                      expires_at=datetime(2026, 6, 1, tzinfo=UTC))
    response = renewal(client, scene)
    assert response.status_code == 422 and response.get_json()["error"] == "material_missing"


def test_someone_elses_certificate_is_not_usable(client, scene, citizen_licence):
    theirs = issue_certificate(kind=scene.licence_kind, holder=scene.people["stranger"])
    response = renewal(client, scene, materials=[
        {"material_id": "m1", "certificate_id": str(theirs.id)}])
    assert response.status_code == 409
    assert response.get_json()["error"] == "certificate_not_usable"
    assert list(response.get_json()["errors"]) == ["materials.0.certificate_id"]


def test_a_revoked_or_expired_certificate_is_not_valid_as_material(client, scene, clock):
    citizen = scene.people["citizen"]
    revoked = issue_certificate(kind=scene.licence_kind, holder=citizen)
    revoke(revoked, "测试吊销")
    db.session.commit()
    expired = issue_certificate(kind=scene.licence_kind, holder=citizen,
                                expires_at=datetime(2026, 6, 1, tzinfo=UTC))
    for certificate, state in ((revoked, "revoked"), (expired, "expired")):
        response = renewal(client, scene, materials=[
            {"material_id": "m1", "certificate_id": str(certificate.id)}])
        assert response.status_code == 409, state
        body = response.get_json()
        assert body["error"] == "certificate_not_valid"
        assert body["errors"] == {"materials.0.certificate_id": [state]}


def test_a_certificate_of_the_wrong_type_for_the_material_is_422(client, scene):
    # The owner's own driving licence is usable when applying for the company, but not as
    # its business licence.
    own = issue_certificate(kind=scene.licence_kind, holder=scene.people["owner"])
    response = file(client, scene, "owner", scene.codes["company"], enterprise_uscc=scene.uscc,
                    materials=[{"material_id": "m1", "certificate_id": str(own.id)}])
    assert response.status_code == 422 and response.get_json()["error"] != "material_missing"
    assert list(response.get_json()["errors"]) == ["materials.0.certificate_id"]


def test_the_same_material_twice_is_422(client, scene, citizen_licence):
    given = {"material_id": "m1", "certificate_id": str(citizen_licence.id)}
    response = renewal(client, scene, materials=[given, given])
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["materials.1.material_id"]


def test_a_material_the_item_does_not_ask_for_is_422(client, scene, citizen_licence):
    response = renewal(client, scene, materials=[
        {"material_id": "m9", "certificate_id": str(citizen_licence.id)}])
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["materials.0.material_id"]


def test_an_upload_of_someone_else_is_not_found(client, scene, citizen_licence):
    theirs = new_upload(scene.people["stranger"])
    response = renewal(client, scene, materials=[{"material_id": "m2", "upload_id": theirs}])
    assert response.status_code == 404
    mine = new_upload(scene.people["citizen"])
    response = renewal(client, scene, materials=[{"material_id": "m2", "upload_id": mine}])
    assert response.status_code == 201
    assert [(m["material_id"], m["source"], m["upload_id"])
            for m in response.get_json()["materials"]] == [
        ("m2", "upload", mine), ("m1", "certificate", None)]


def test_a_user_without_a_verified_real_name_cannot_apply(client, scene):
    scene.people["anonymous"] = create_user(verified=False)
    response = file(client, scene, "anonymous", scene.codes["open"])
    assert response.status_code == 403
    assert response.get_json()["error"] == "real_name_required"


# Idempotency-Key ----------------------------------------------------------------------------


def count_cases(user: User) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Case).where(
        Case.applicant_user_id == user.id)) or 0


def test_the_same_key_and_body_give_the_same_case(client, scene):
    first = file(client, scene, "citizen", scene.codes["open"], key="tap-0000-0001")
    again = file(client, scene, "citizen", scene.codes["open"], key="tap-0000-0001")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["case_no"] == first.get_json()["case_no"]
    assert count_cases(scene.people["citizen"]) == 1


def test_the_same_key_with_another_body_is_a_conflict(client, scene, citizen_licence):
    file(client, scene, "citizen", scene.codes["open"], key="tap-0000-0002")
    other = file(client, scene, "citizen", scene.codes["renewal"], key="tap-0000-0002",
                 form={"applicant": "张伟"})
    assert other.status_code == 409
    assert other.get_json()["error"] == "idempotency_key_reused"
    assert count_cases(scene.people["citizen"]) == 1


def test_a_key_is_the_callers_own(client, scene):
    mine = file(client, scene, "citizen", scene.codes["open"], key="tap-0000-0003")
    theirs = file(client, scene, "stranger", scene.codes["open"], key="tap-0000-0003")
    assert mine.status_code == theirs.status_code == 201
    assert mine.get_json()["case_no"] != theirs.get_json()["case_no"]


def test_without_a_key_two_submissions_make_two_cases(client, scene):
    first = file(client, scene, "citizen", scene.codes["open"])
    second = file(client, scene, "citizen", scene.codes["open"])
    assert first.status_code == second.status_code == 201
    assert first.get_json()["case_no"] != second.get_json()["case_no"]
    assert count_cases(scene.people["citizen"]) == 2


def test_two_concurrent_submissions_with_one_key_make_one_case(app, scene):
    headers = scene.headers("citizen", **{"Idempotency-Key": "double-tap-0001"})
    body = {"service_code": scene.codes["open"]}
    start = threading.Barrier(2)
    answers: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def submit() -> None:
        client = app.test_client()
        start.wait()
        response = client.post(f"{API}/cases", headers=headers, json=body)
        with lock:
            answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(status for status, _ in answers) == [200, 201], answers
    assert len({answer["case_no"] for _, answer in answers}) == 1
    assert count_cases(scene.people["citizen"]) == 1
    # The repeat answers with the whole case, timeline included.
    assert all(len(answer["nodes"]) == 1 for _, answer in answers)


# Bundles --------------------------------------------------------------------------------------


def file_bundle(client, scene: Scene, who: str = "citizen"):
    upload = new_upload(scene.people[who])
    return file(client, scene, who, "B801", form={"phone": new_phone_number()},
                materials=[{"material_id": "b2", "upload_id": upload}]), upload


def test_a_bundle_makes_a_parent_and_one_case_per_member_with_its_materials(
        client, scene, citizen_licence):
    filed, upload = file_bundle(client, scene)
    assert filed.status_code == 201, filed.get_json()
    parent = filed.get_json()
    assert parent["kind"] == "bundle" and parent["service"]["code"] == "B801"
    assert parent["materials"] == [] and parent["parent_case_no"] is None
    children = parent["children"]
    assert [c["service"]["code"] for c in children] == [scene.codes["renewal"],
                                                         scene.codes["photo"]]
    assert len({c["case_no"] for c in children} | {parent["case_no"]}) == 3
    renewal_case = read(client, scene, "citizen", children[0]["case_no"]).get_json()
    photo_case = read(client, scene, "citizen", children[1]["case_no"]).get_json()
    # Each member gets the materials its own item asks for, under the item's own ids.
    assert [(m["material_id"], m["name"], m["source"]) for m in renewal_case["materials"]] == [
        ("m1", "机动车驾驶证", "certificate"), ("m2", "个人照片", "upload")]
    assert renewal_case["materials"][0]["certificate_id"] == str(citizen_licence.id)
    assert [(m["material_id"], m["upload_id"]) for m in photo_case["materials"]] == [
        ("m1", upload)]
    assert renewal_case["parent_case_no"] == parent["case_no"]
    # The list shows the bundle once, its members inside it.
    listed = client.get(f"{API}/me/cases", headers=scene.headers("citizen")).get_json()
    assert [c["case_no"] for c in listed["items"]] == [parent["case_no"]]


def test_a_bundle_missing_a_merged_material_names_it(client, scene, citizen_licence):
    response = file(client, scene, "citizen", "B801", form={})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"materials": ["b2: 个人照片"]}


# GET /me/cases --------------------------------------------------------------------------------


@pytest.fixture
def owners_cases(client, scene, clock) -> list[str]:
    """The owner's cases, oldest first: personal, the company's, personal, the company's."""
    numbers = []
    for day, company in ((16, False), (17, True), (18, False), (19, True)):
        clock.set(f"2026-11-{day} 09:00")
        response = (file_for_company(client, scene, "owner") if company
                    else file(client, scene, "owner", scene.codes["open"]))
        numbers.append(response.get_json()["case_no"])
    file(client, scene, "citizen", scene.codes["open"])       # someone else's
    return numbers


def listing(client, scene: Scene, who: str = "owner", **query: Any) -> dict:
    response = client.get(f"{API}/me/cases", headers=scene.headers(who), query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def numbers_of(page: dict) -> list[str]:
    return [c["case_no"] for c in page["items"]]


def test_my_cases_merge_my_own_and_my_companys_newest_first(client, scene, owners_cases):
    page = listing(client, scene)
    assert numbers_of(page) == owners_cases[::-1] and page["total"] == 4
    assert [c["enterprise"] is not None for c in page["items"]] == [True, False, True, False]
    first = listing(client, scene, per_page=3)
    second = listing(client, scene, per_page=3, page=2)
    assert numbers_of(first) + numbers_of(second) == owners_cases[::-1]
    assert first["total"] == second["total"] == 4 and first["per_page"] == 3
    assert listing(client, scene, page=3, per_page=3)["items"] == []
    # Pages smaller than a scope: each full scope is counted, the total stays whole.
    for number in range(1, 5):
        one = listing(client, scene, per_page=1, page=number)
        assert numbers_of(one) == [owners_cases[::-1][number - 1]] and one["total"] == 4
    assert listing(client, scene, per_page=2, page=1)["total"] == 4
    # The agent reaches the company's cases, not the owner's own.
    assert numbers_of(listing(client, scene, "agent")) == [owners_cases[3], owners_cases[1]]


def test_my_cases_filter_by_status_enterprise_and_time(client, scene, owners_cases):
    client.post(f"{API}/cases/{owners_cases[2]}/withdraw", json={},
                headers=scene.headers("owner"))
    withdrawn = listing(client, scene, status="withdrawn")
    assert numbers_of(withdrawn) == [owners_cases[2]] and withdrawn["total"] == 1
    assert listing(client, scene, status="submitted")["total"] == 3
    company = listing(client, scene, enterprise=scene.uscc)
    assert numbers_of(company) == [owners_cases[3], owners_cases[1]] and company["total"] == 2
    window = listing(client, scene, since=shown("2026-11-17 09:00"),
                     until=shown("2026-11-19 09:00"))
    assert numbers_of(window) == [owners_cases[2], owners_cases[1]] and window["total"] == 2
    bad = client.get(f"{API}/me/cases", headers=scene.headers("owner"), query_string={
        "since": shown("2026-11-19 09:00"), "until": shown("2026-11-17 09:00")})
    assert bad.status_code == 422
    unknown_status = client.get(f"{API}/me/cases", headers=scene.headers("owner"),
                                query_string={"status": "lost"})
    assert unknown_status.status_code == 422


def test_filtering_by_an_enterprise_the_caller_does_not_reach_is_403(client, scene):
    other = create_enterprise(name="盘龙山茶贸易有限公司", region_code="530103")
    response = client.get(f"{API}/me/cases", headers=scene.headers("owner"),
                          query_string={"enterprise": other.uscc})
    assert response.status_code == 403


# GET /cases/{case_no} -------------------------------------------------------------------------


def test_the_detail_shows_the_timeline_time_left_and_a_masked_form(
        client, scene, citizen_licence, clock):
    clock.set("2026-11-16 09:00")
    number, phone = new_id_number(), new_phone_number()
    filed = renewal(client, scene, form={"applicant": "张伟", "id_number": number,
                                         "phone": phone}).get_json()
    clock.set("2026-11-18 10:00")
    case = read(client, scene, "citizen", filed["case_no"]).get_json()
    assert case["query_code"] == filed["query_code"]
    assert case["submitted_at"] == shown("2026-11-16 09:00")
    assert case["due_at"] == shown("2026-11-23 23:59:59")
    assert case["working_days_left"] == 3 and case["overdue"] is False
    assert [(n["name"], n["status_label"]) for n in case["nodes"]] == [("提交申请", "已提交")]
    assert case["can_withdraw"] is True and case["can_rate"] is False
    values = {f["name"]: f["value"] for f in case["form"]}
    assert values["applicant"] == "张伟"
    assert number not in json.dumps(case) and phone not in json.dumps(case)
    assert values["id_number"].startswith(number[:6]) and "*" in values["id_number"]
    assert values["phone"].endswith(phone[-4:]) and "*" in values["phone"]


def test_an_unknown_or_malformed_case_number(client, scene):
    assert read(client, scene, "citizen", "53209901010000001").status_code == 404
    assert read(client, scene, "citizen", "not-a-number").status_code == 404


# The lookup without login ---------------------------------------------------------------------


def test_the_lookup_shows_progress_and_nothing_personal(client, scene, citizen_licence, clock):
    number, phone = new_id_number(), new_phone_number()
    case = renewal(client, scene, form={"applicant": "张伟", "id_number": number,
                                        "phone": phone}).get_json()
    clock.set("2026-09-22 10:00")
    event(client, case["case_no"], "e1", "accepted", "2026-09-22 09:00", node="受理",
          note="请于三日内到窗口领取，联系人张伟")
    for code in (case["query_code"], case["query_code"].lower()):
        response = client.get(f"{API}/cases/lookup",
                              query_string={"case_no": case["case_no"], "query_code": code})
        assert response.status_code == 200, response.get_json()
        public = response.get_json()
        assert public["status"] == "accepted"
        assert [n["name"] for n in public["nodes"]] == ["提交申请", "受理"]
        assert all("note" not in n for n in public["nodes"])
        for hidden in ("query_code", "form", "materials", "enterprise", "children"):
            assert hidden not in public
        text = json.dumps(public, ensure_ascii=False)
        assert "张伟" not in text and number not in text and phone not in text


def test_the_lookup_is_rate_limited(client, scene):
    case = file(client, scene, "citizen", scene.codes["open"]).get_json()
    query = {"case_no": case["case_no"], "query_code": case["query_code"]}
    for _ in range(20):
        assert client.get(f"{API}/cases/lookup", query_string=query).status_code == 200
    limited = client.get(f"{API}/cases/lookup", query_string=query)
    assert limited.status_code == 429
    assert limited.get_json()["error"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0


# Withdrawing ----------------------------------------------------------------------------------


def withdraw(client, scene: Scene, case_no: str, who: str = "citizen", reason: str = ""):
    return client.post(f"{API}/cases/{case_no}/withdraw", headers=scene.headers(who),
                       json={"reason": reason} if reason else {})


def test_a_case_not_yet_accepted_is_withdrawn(client, scene, clock):
    clock.set("2026-11-16 09:00")
    case_no = file(client, scene, "citizen", scene.codes["open"]).get_json()["case_no"]
    clock.set("2026-11-16 11:00")
    response = withdraw(client, scene, case_no, reason="信息填错了")
    assert response.status_code == 200, response.get_json()
    case = response.get_json()
    assert case["status"] == "withdrawn" and case["closed_at"] == shown("2026-11-16 11:00")
    assert case["can_withdraw"] is False and case["can_rate"] is False
    assert [(n["status"], n["note"]) for n in case["nodes"]][-1] == ("withdrawn", "信息填错了")
    [moved] = events_named("case.moved")
    assert moved.payload["case_no"] == case_no and moved.payload["status"] == "withdrawn"
    assert moved.payload["previous_status"] == "submitted"
    again = withdraw(client, scene, case_no)
    assert again.status_code == 409 and again.get_json()["error"] == "illegal_transition"


def test_an_accepted_case_can_no_longer_be_withdrawn(client, scene, clock):
    case_no = file(client, scene, "citizen", scene.codes["open"]).get_json()["case_no"]
    clock.set("2026-09-21 10:00")
    event(client, case_no, "e1", "accepted", "2026-09-21 09:30")
    response = withdraw(client, scene, case_no)
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "illegal_transition"
    assert body["errors"] == {"status": ["accepted -> withdrawn"]}
    assert read(client, scene, "citizen", case_no).get_json()["status"] == "accepted"


def test_a_bundle_is_withdrawn_whole_and_not_member_by_member(client, scene, citizen_licence):
    parent = file_bundle(client, scene)[0].get_json()
    member = parent["children"][0]["case_no"]
    refused = withdraw(client, scene, member)
    assert refused.status_code == 409 and refused.get_json()["error"] == "bundle_member"
    response = withdraw(client, scene, parent["case_no"])
    assert response.status_code == 200, response.get_json()
    case = response.get_json()
    assert case["status"] == "withdrawn" and case["closed_at"] is not None
    assert [n["status"] for n in case["nodes"]] == ["submitted", "withdrawn"]
    assert [c["status"] for c in case["children"]] == ["withdrawn", "withdrawn"]
    statuses = [(e.payload["case_no"], e.payload["status"]) for e in events_named("case.moved")]
    assert (parent["case_no"], "withdrawn") in statuses and len(statuses) == 3


def test_a_bundle_with_an_accepted_member_cannot_be_withdrawn(
        client, scene, citizen_licence, clock):
    parent = file_bundle(client, scene)[0].get_json()
    clock.set("2026-09-21 10:00")
    event(client, parent["children"][1]["case_no"], "e1", "accepted", "2026-09-21 09:30")
    response = withdraw(client, scene, parent["case_no"])
    assert response.status_code == 409
    assert response.get_json()["errors"] == {"status": ["accepted -> withdrawn"]}
    seen = read(client, scene, "citizen", parent["case_no"]).get_json()
    assert [c["status"] for c in seen["children"]] == ["submitted", "accepted"]


# Department events ------------------------------------------------------------------------------


@pytest.fixture
def case_no(client, scene, clock) -> str:
    clock.set("2026-11-16 09:00")           # a Monday; five working days: due 11-23
    number = file(client, scene, "citizen", scene.codes["open"]).get_json()["case_no"]
    clock.set("2026-11-25 10:00")
    return number


def test_an_unsigned_event_is_refused(client, case_no):
    path = f"{API}/integrations/cases/{case_no}/events"
    response = client.post(path, json={"event_id": "e1", "status": "accepted",
                                       "at": shown("2026-11-16 10:00")})
    assert response.status_code == 401
    assert response.get_json()["error"] == "signature_missing"


def test_an_event_for_an_unknown_case_is_404(client, scene):
    response = event(client, "53209901010000001", "e1", "accepted", "2026-11-16 10:00")
    assert response.status_code == 404


def test_a_repeated_event_gets_the_first_answer_and_changes_nothing(client, scene, case_no):
    first = event(client, case_no, "e1", "accepted", "2026-11-16 10:00", node="受理")
    timeline = read(client, scene, "citizen", case_no).get_json()["nodes"]
    # Sent again, even with a changed body: the event id decides.
    again = event(client, case_no, "e1", "rejected", "2026-11-16 11:00")
    assert again.status_code == first.status_code == 200
    assert again.get_json() == first.get_json()
    assert read(client, scene, "citizen", case_no).get_json()["nodes"] == timeline
    assert len(timeline) == 2


def test_an_event_id_reused_for_another_case_is_a_conflict(client, scene, case_no):
    other = file(client, scene, "citizen", scene.codes["open"]).get_json()["case_no"]
    assert event(client, case_no, "e1", "accepted", "2026-11-16 10:00").status_code == 200
    response = event(client, other, "e1", "accepted", "2026-11-25 09:00")
    assert response.status_code == 409
    assert read(client, scene, "citizen", other).get_json()["status"] == "submitted"


def test_events_arriving_out_of_order_are_placed_by_their_time(client, scene, case_no):
    event(client, case_no, "e1", "accepted", "2026-11-16 10:00", node="受理")
    event(client, case_no, "e3", "approved", "2026-11-18 10:00", node="办结")
    response = event(client, case_no, "e2", "in_review", "2026-11-17 10:00", node="审查")
    assert response.status_code == 200
    nodes = read(client, scene, "citizen", case_no).get_json()["nodes"]
    assert [n["name"] for n in nodes] == ["提交申请", "受理", "审查", "办结"]


@pytest.mark.parametrize(("moves", "late", "transition"), [
    ([("accepted", "2026-11-16 10:00"), ("approved", "2026-11-17 10:00")],
     ("in_review", "2026-11-18 10:00"), "approved -> in_review"),
    ([], ("approved", "2026-11-16 10:00"), "submitted -> approved"),
    ([("rejected", "2026-11-16 10:00")], ("accepted", "2026-11-17 10:00"),
     "rejected -> accepted"),
])
def test_an_illegal_move_is_409_naming_the_transition(client, scene, case_no, moves, late,
                                                      transition):
    for n, (status, at) in enumerate(moves):
        assert event(client, case_no, f"e{n}", status, at).status_code == 200
    before = read(client, scene, "citizen", case_no).get_json()
    response = event(client, case_no, "late", *late)
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "illegal_transition" and body["errors"] == {"status": [transition]}
    assert read(client, scene, "citizen", case_no).get_json() == before
    # Refused, the event id is not spent: the department may send it again once it is legal.
    assert event(client, case_no, "late", *late).status_code == 409


def test_a_supplement_request_stops_the_clock_until_the_case_goes_on(client, scene, case_no):
    event(client, case_no, "e1", "accepted", "2026-11-16 10:00")
    event(client, case_no, "e2", "supplement_requested", "2026-11-18 10:00", note="请补充照片")
    waiting = read(client, scene, "citizen", case_no).get_json()
    assert waiting["status"] == "supplement_requested"
    assert waiting["due_at"] == shown("2026-11-23 23:59:59")
    assert waiting["overdue"] is False          # past due by the calendar, but paused
    assert waiting["working_days_left"] == 3    # as it stood on Wednesday 11-18
    event(client, case_no, "e3", "in_review", "2026-11-20 10:00")
    # Paused Thursday and Friday: the due day moves two working days, past the weekend.
    resumed = read(client, scene, "citizen", case_no).get_json()
    assert resumed["due_at"] == shown("2026-11-25 23:59:59")
    assert resumed["working_days_left"] == 0 and resumed["overdue"] is False


def test_an_event_in_the_future_is_422(client, scene, case_no, clock):
    response = event(client, case_no, "e1", "accepted", "2026-11-25 10:06")
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["at"]
    before = event(client, case_no, "e2", "accepted", "2026-11-16 08:00")
    assert before.status_code == 422 and list(before.get_json()["errors"]) == ["at"]


def test_an_event_for_a_bundles_parent_is_409(client, scene, citizen_licence):
    parent = file_bundle(client, scene)[0].get_json()
    response = event(client, parent["case_no"], "e1", "accepted",
                     parent["submitted_at"][:16].replace("T", " "))
    assert response.status_code == 409 and response.get_json()["error"] == "bundle_parent"


def test_a_bundles_parent_follows_its_members(client, scene, citizen_licence, clock):
    parent = file_bundle(client, scene)[0].get_json()
    first, second = (c["case_no"] for c in parent["children"])
    clock.set("2026-09-22 12:00")
    event(client, first, "e1", "accepted", "2026-09-22 10:00")
    assert read(client, scene, "citizen", parent["case_no"]).get_json()["status"] == "submitted"
    event(client, second, "e2", "supplement_requested", "2026-09-22 10:00")
    seen = read(client, scene, "citizen", parent["case_no"]).get_json()
    assert seen["status"] == "supplement_requested"
    event(client, first, "e3", "approved", "2026-09-22 11:00")
    event(client, second, "e4", "rejected", "2026-09-22 11:30")
    seen = read(client, scene, "citizen", parent["case_no"]).get_json()
    assert seen["status"] == "approved" and seen["closed_at"] == shown("2026-09-22 11:30")


# Overdue ----------------------------------------------------------------------------------------


def test_a_case_past_its_due_time_is_overdue_and_marked_once(client, scene, case_no, clock):
    from app.cases.tasks import mark_overdue_cases

    seen = read(client, scene, "citizen", case_no).get_json()     # now: Wednesday 11-25
    assert seen["due_at"] == shown("2026-11-23 23:59:59")
    assert seen["overdue"] is True and seen["working_days_left"] == -2
    heard: list[Any] = []
    subscribe("case.overdue", heard.append)
    try:
        assert mark_overdue_cases(clock.now) == 1
        assert mark_overdue_cases(clock.now) == 0
    finally:
        unsubscribe("case.overdue", heard.append)
    [row] = events_named("case.overdue")
    assert row.payload["case_no"] == case_no and row.dispatched_at is not None
    assert datetime.fromisoformat(row.payload["due_at"]) == china("2026-11-23 23:59:59")
    assert [e.payload["case_no"] for e in heard] == [case_no]


def test_cases_within_time_paused_or_finished_are_not_marked(client, scene, case_no, clock):
    from app.cases.tasks import mark_overdue_cases

    paused = file(client, scene, "citizen", scene.codes["open"]).get_json()["case_no"]
    clock.set("2026-11-16 09:00")
    finished = file(client, scene, "citizen", scene.codes["open"]).get_json()["case_no"]
    paused_late = file(client, scene, "citizen", scene.codes["open"]).get_json()["case_no"]
    clock.set("2026-11-25 10:00")
    event(client, finished, "e1", "rejected", "2026-11-16 10:00")
    event(client, paused_late, "e2", "supplement_requested", "2026-11-16 10:00")
    # Of the lot, only the first case (due 11-23, its clock running) is late on 11-25.
    assert mark_overdue_cases(clock.now) == 1
    assert [e.payload["case_no"] for e in events_named("case.overdue")] == [case_no]
    assert paused  # filed on 11-25, due later
