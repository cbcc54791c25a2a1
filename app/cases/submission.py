"""Filing a case (申请): the form, the materials, the case number, instant approval.

One submission makes one case for a service item, or for a bundle (一件事) a parent case and
one child case per member item, all from one form. A retried submission with the client's
Idempotency-Key gives the case the first one made, never a second.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.cases import instant
from app.cases.forms import check_form
from app.cases.lifecycle import move, start
from app.cases.numbers import new_query_code, next_case_no
from app.catalog.hot import record_use
from app.catalog.queries import find_bundle, find_item, merged_materials
from app.catalog.regions import placeable_region
from app.catalog.versions import current_version
from app.extensions import db
from app.identity.enterprises import require_enterprise_access
from app.models import Bundle, Enterprise, ServiceItem, User
from app.models.case import Case, CaseMaterial, Upload
from app.models.certificate import Certificate
from app.platform.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.platform.events import emit
from app.platform.orm import parse_row_id, utcnow
from app.privacy.vault import vault

BUNDLE_CODE = re.compile(r"B[0-9]{3,8}")
DEFAULT_PROVINCE = "53"
# An application says more about what people need than a look at the guide does.
SUBMISSION_WEIGHT = 3.0
EVENT_SUBMITTED = "case.submitted"


@dataclass(frozen=True)
class MaterialSpec:
    """A material the submission must or may carry."""

    key: str
    name: str
    required: bool
    certificate_type: str | None


@dataclass
class Given:
    """A material as filed, once checked."""

    spec: MaterialSpec
    certificate: Certificate | None = None
    upload: Upload | None = None


def digest_of(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False, default=str)
                          .encode()).hexdigest()


def submit(user: User, body: dict[str, Any], client_key: str | None = None
           ) -> tuple[Case, bool]:
    """File the case; (the case, whether it is new). The caller commits."""
    digest = digest_of(body)
    if client_key:
        earlier = _earlier(user, client_key, digest)
        if earlier is not None:
            return earlier, False
    try:
        case = _file(user, body, client_key, digest)
    except IntegrityError:
        if not client_key:
            raise
        # The same key raced in from another request (a double tap), which committed first:
        # answer with its case. Its rows came after this transaction's snapshot (MySQL reads
        # repeatably), so they are read in a new transaction. No savepoint is taken for this:
        # on SQLite one would start the transaction with reads, and a transaction that reads
        # before it writes fails at once, rather than waits, while another one writes.
        db.session.rollback()
        earlier = _earlier(user, client_key, digest)
        if earlier is None:
            raise
        return earlier, False
    return case, True


def _earlier(user: User, client_key: str, digest: str) -> Case | None:
    case = db.session.scalar(sa.select(Case).where(Case.applicant_user_id == user.id,
                                                   Case.client_key == client_key))
    if case is not None and case.request_digest != digest:
        raise Conflict("该幂等键已用于另一份申请", error="idempotency_key_reused",
                       errors={"Idempotency-Key": ["与首次提交的内容不同"]})
    return case


def _file(user: User, body: dict[str, Any], client_key: str | None, digest: str) -> Case:
    if not user.real_name_verified:
        raise Forbidden("请先完成实名认证再申请办理", error="real_name_required")
    code = body["service_code"]
    enterprise = None
    if body.get("enterprise_uscc"):
        enterprise = require_enterprise_access(user, body["enterprise_uscc"], "cases")
    if BUNDLE_CODE.fullmatch(code):
        bundle = find_bundle(code)
        _check_audience(bundle.audience, enterprise)
        form = check_form(bundle.form, body.get("form") or {})
        specs = _bundle_specs(bundle)
        items = [member.item for member in bundle.members]
    else:
        item = find_item(code)
        _check_audience(item.audience, enterprise)
        form = check_form(item.form, body.get("form") or {})
        specs = [MaterialSpec(m.material_key, m.name, m.required, m.certificate_type)
                 for m in item.materials]
        items = [item]
    now = utcnow()
    held = _held_certificates(user, enterprise)
    given = _materials(user, enterprise, specs, body.get("materials") or [], held, now)
    region = (enterprise.region_code if enterprise else None) or placeable_region(
        user.region_code) or ""
    version = current_version()
    form_enc = vault().encrypt(json.dumps(form, ensure_ascii=False), "case.form")

    def new_case(kind: str, code: str, name: str, department: str, limit: int) -> Case:
        case = Case(case_no=next_case_no(province_of(region), now), query_code=new_query_code(),
                    kind=kind, service_code=code, service_name=name, department=department,
                    region_code=region, catalog_version=version, applicant_user_id=user.id,
                    enterprise_id=enterprise.id if enterprise else None, form_enc=form_enc,
                    status="submitted", channel="online", promised_limit_days=limit)
        start(case, now)
        return case

    if len(items) == 1 and not BUNDLE_CODE.fullmatch(code):
        item = items[0]
        case = new_case("item", item.code, item.name, item.department, limit_days(item))
        case.materials = [_row(g, g.spec.key, g.spec.name) for g in given]
    else:
        bundle_row = find_bundle(code)
        case = new_case("bundle", bundle_row.code, bundle_row.name, "",
                        max(limit_days(i) for i in items))
        for item in items:
            child = new_case("item", item.code, item.name, item.department, limit_days(item))
            child.materials = _member_rows(given, item)
            case.children.append(child)
    case.client_key, case.request_digest = client_key, digest
    db.session.add(case)
    db.session.flush()
    for filed in [case, *case.children]:
        if filed.kind == "item":
            emit(EVENT_SUBMITTED, case_id=filed.id, case_no=filed.case_no,
                 service_code=filed.service_code, applicant_user_id=user.id,
                 enterprise_id=filed.enterprise_id, parent_id=case.id if filed is not case
                 else None)
    if case.kind == "item" and items[0].instant_approval:
        try_instant_approval(case, items[0], user, enterprise, held, now)
    audience = "enterprise" if enterprise else "personal"
    for item in items:
        record_use(item.code, region or None, audience, SUBMISSION_WEIGHT)
    return case


def _check_audience(audience: str, enterprise: Enterprise | None) -> None:
    if audience == "enterprise" and enterprise is None:
        raise InvalidInput("enterprise_uscc", "该事项由企业申请，请选择要代办的企业")
    if audience == "personal" and enterprise is not None:
        raise InvalidInput("enterprise_uscc", "该事项由个人申请，不能以企业名义办理")


def limit_days(item: ServiceItem) -> int:
    """The working days a case of the item is promised in; 0 is 即办 (done the same day)."""
    return item.promised_limit_days


def province_of(region: str) -> str:
    return region[:2] if len(region) >= 2 else DEFAULT_PROVINCE


def _bundle_specs(bundle: Bundle) -> list[MaterialSpec]:
    return [MaterialSpec(m["id"], m["name"], m["required"], m["certificate_type"])
            for m in merged_materials(bundle)]


def _merge_key(certificate_type: str | None, name: str) -> str:
    """What makes two members' materials one in a bundle's list (as merged_materials merges)."""
    return certificate_type or name.strip()


def _member_rows(given: list[Given], item: ServiceItem) -> list[CaseMaterial]:
    """A member case's materials from the bundle's, under the member item's own material ids:
    its department reads them against the item's guide, not the bundle's merged list."""
    by_key = {_merge_key(g.spec.certificate_type, g.spec.name): g for g in given}
    rows = []
    for material in item.materials:
        filed = by_key.get(_merge_key(material.certificate_type, material.name))
        if filed is not None:
            rows.append(_row(filed, material.material_key, material.name))
    return rows


def _held_certificates(user: User, enterprise: Enterprise | None) -> list[Certificate]:
    clauses = []
    if user.id_number_index:
        clauses.append(Certificate.holder_id_index == user.id_number_index)
    if enterprise is not None:
        clauses.append(Certificate.holder_enterprise_id == enterprise.id)
    if not clauses:
        return []
    return list(db.session.scalars(sa.select(Certificate).where(sa.or_(*clauses))
                                   .order_by(Certificate.id)))


def _materials(user: User, enterprise: Enterprise | None, specs: list[MaterialSpec],
               entries: list[dict[str, Any]], held: list[Certificate], now: Any
               ) -> list[Given]:
    """Check each material given, then fill required ones a held certificate provides (免提交);
    a required material neither given nor held is missing (422 naming it)."""
    by_key = {spec.key: spec for spec in specs}
    given: dict[str, Given] = {}
    for number, entry in enumerate(entries):
        where = f"materials.{number}"
        spec = by_key.get(entry["material_id"])
        if spec is None:
            raise InvalidInput(f"{where}.material_id", "该事项没有这项材料")
        if spec.key in given:
            raise InvalidInput(f"{where}.material_id", "同一项材料只能提交一次")
        if entry.get("certificate_id"):
            certificate = _certificate(entry["certificate_id"], held, f"{where}.certificate_id")
            if spec.certificate_type and certificate.type.code != spec.certificate_type:
                raise InvalidInput(f"{where}.certificate_id",
                                   f"「{spec.name}」须由{spec.certificate_type}类证照提供")
            status = certificate.status_at(now)
            if status != "valid":
                state = "吊销" if status == "revoked" else "过期"
                raise Conflict(f"证照已{state}，不能作为「{spec.name}」",
                               error="certificate_not_valid",
                               errors={f"{where}.certificate_id": [status]})
            given[spec.key] = Given(spec, certificate=certificate)
        else:
            given[spec.key] = Given(spec, upload=_upload(user, entry["upload_id"],
                                                         f"{where}.upload_id"))
    # Held in the order issued: of two valid certificates of a type, the newer one is filed.
    # Only required materials are filled in, each from a certificate not filed already: an
    # optional one (an agent's ID card, say) is the applicant's to give, not ours to guess.
    valid = {c.type.code: c for c in held if c.status_at(now) == "valid"}
    used = {g.certificate.id for g in given.values() if g.certificate is not None}
    for spec in specs:
        if spec.key in given or not spec.required or not spec.certificate_type:
            continue
        certificate = valid.get(spec.certificate_type)
        if certificate is not None and certificate.id not in used:
            given[spec.key] = Given(spec, certificate=certificate)
            used.add(certificate.id)
    missing = [spec for spec in specs if spec.required and spec.key not in given]
    if missing:
        raise InvalidInput("materials", "缺少必需的申请材料：" + "、".join(s.name for s in missing),
                           [f"{s.key}: {s.name}" for s in missing], error="material_missing")
    return list(given.values())


def _certificate(reference: str, held: list[Certificate], where: str) -> Certificate:
    """A certificate the applicant may file: theirs, or the applying enterprise's."""
    row_id = parse_row_id(reference)
    for certificate in held:
        if certificate.id == row_id:
            return certificate
    raise Conflict("该证照不属于申请人或所代办的企业，不能作为申请材料",
                   error="certificate_not_usable", errors={where: ["not usable"]})


def _upload(user: User, upload_id: str, where: str) -> Upload:
    upload = db.session.get(Upload, upload_id)
    if upload is None or upload.owner_user_id != user.id:
        raise NotFound("上传的材料文件不存在", errors={where: ["not found"]})
    return upload


def _row(filed: Given, key: str, name: str) -> CaseMaterial:
    return CaseMaterial(material_key=key, name=name,
                        source="certificate" if filed.certificate else "upload",
                        certificate_id=filed.certificate.id if filed.certificate else None,
                        upload_id=filed.upload.id if filed.upload else None)


def try_instant_approval(case: Case, item: ServiceItem, user: User,
                         enterprise: Enterprise | None, held: list[Certificate], now: Any
                         ) -> None:
    """Approve a new case at once when the item's rule is proven (秒批), with the result issued;
    otherwise note on its timeline what could not be proven and leave it to the queue."""
    rule = item.instant_approval or {}
    decision = instant.decide(rule, user, enterprise, held, now)
    if not decision.approved:
        move(case, "submitted", source="system", name="秒批核验",
             note=f"未全部自动核验，转人工办理。{decision.note}", at=now)
        return
    result = instant.issue_result(rule, decision, user, enterprise, now)
    note = f"秒批通过。{decision.note}"
    if result is not None:
        note += f"。结果已发放电子证照：{result.type.name}"
    case.instant = True
    move(case, "approved", source="system", name="秒批办结", note=note, at=now)
