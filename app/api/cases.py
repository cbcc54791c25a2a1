"""Cases (办件): apply, follow the timeline, look one up without login, withdraw."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_jwt_extended import current_user

from app.api.docs import ErrorSchema
from app.api.permissions import user_required
from app.api.rate_limits import limit_by_ip
from app.api.request_bodies import Blueprint
from app.api.schemas import LocalDateTime, PageQuerySchema, PageSchema, RequestSchema
from app.api.validators import USCC
from app.cases.progress import withdraw
from app.cases.reading import (
    detail,
    list_cases,
    looked_up,
    public_view,
    visible_case,
)
from app.cases.submission import submit
from app.extensions import db
from app.models.case import CASE_STATUSES
from app.platform.pages import Page

blp = Blueprint("cases", __name__, url_prefix="/api/v1",
                description="Cases: apply, follow, look up, withdraw")
SERVICE_CODE_PATTERN = r"^(?:[A-Z]{2}[0-9]{8}|B[0-9]{3,8})$"
MAX_LISTED = 5000
CASE_NO = ma.validate.Regexp(r"^[0-9]{10,24}$", error="办件编号格式错误")


class MaterialGivenSchema(RequestSchema):
    """One material: a held certificate (免提交) or an uploaded file, exactly one of them."""

    material_id = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=16),
                                   metadata={"example": "m1"})
    certificate_id = ma.fields.String(validate=ma.validate.Regexp(r"^[1-9][0-9]{0,18}$"),
                                      metadata={"example": "1"})
    upload_id = ma.fields.String(validate=ma.validate.Regexp(r"^[0-9a-f]{32}$"),
                                 metadata={"example": "9f86d081884c7d659a2feaa0c55ad015"})

    @ma.validates_schema
    def exactly_one(self, data: dict, **kwargs: Any) -> None:
        if bool(data.get("certificate_id")) == bool(data.get("upload_id")):
            raise ma.ValidationError("certificate_id 与 upload_id 须填且只填一项",
                                     "certificate_id")


class SubmissionSchema(RequestSchema):
    service_code = ma.fields.String(
        required=True, validate=ma.validate.Regexp(SERVICE_CODE_PATTERN),
        metadata={"description": "a service item's code, or a bundle's (一件事)",
                  "example": "GF00132001"})
    form = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.Length(max=48)),
                          values=ma.fields.Raw(allow_none=True), load_default=dict,
                          metadata={"description": "values of the item's or bundle's form"})
    materials = ma.fields.List(ma.fields.Nested(MaterialGivenSchema), load_default=list,
                               validate=ma.validate.Length(max=50))
    enterprise_uscc = ma.fields.String(validate=USCC, metadata={
        "description": "apply for this bound enterprise (legal representative, or an agent with"
                       " the cases scope)"})


class IdempotencyHeaderSchema(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    idempotency_key = ma.fields.String(
        data_key="Idempotency-Key", validate=ma.validate.Regexp(r"^[\x21-\x7e]{8,64}$"),
        metadata={"description": "a key the client makes per submission (8-64 visible ASCII"
                                 " characters): a retry with the same key and body gives the"
                                 " same case", "example": "c1a5e0d2-6f1b-4e0a-9a51-0b7c3e2f8d44"})


class ServiceRefSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    department = ma.fields.String()


class EnterpriseRefSchema(ma.Schema):
    uscc = ma.fields.String()
    name = ma.fields.String()


class CaseSummarySchema(ma.Schema):
    case_no = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": ["item", "bundle"]})
    service = ma.fields.Nested(ServiceRefSchema)
    status = ma.fields.String(metadata={"enum": list(CASE_STATUSES)})
    status_label = ma.fields.String()
    instant = ma.fields.Boolean(metadata={"description": "approved at submission (秒批)"})
    channel = ma.fields.String(metadata={"enum": ["online", "window"]})
    submitted_at = LocalDateTime()
    due_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)
    overdue = ma.fields.Boolean()
    working_days_left = ma.fields.Integer(allow_none=True, metadata={
        "description": "working days to the due day; negative once overdue; null once closed"})
    enterprise = ma.fields.Nested(EnterpriseRefSchema, allow_none=True)


class NodeSchema(ma.Schema):
    name = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(CASE_STATUSES)})
    status_label = ma.fields.String()
    at = LocalDateTime()
    department = ma.fields.String()
    note = ma.fields.String()


class CaseMaterialSchema(ma.Schema):
    material_id = ma.fields.String()
    name = ma.fields.String()
    source = ma.fields.String(metadata={"enum": ["certificate", "upload"]})
    certificate_id = ma.fields.String(allow_none=True)
    upload_id = ma.fields.String(allow_none=True)


class FormValueSchema(ma.Schema):
    name = ma.fields.String()
    label = ma.fields.String()
    value = ma.fields.Raw(metadata={"description": "ID and phone numbers masked"})


class RatingViewSchema(ma.Schema):
    score = ma.fields.Integer()
    tags = ma.fields.List(ma.fields.String())
    comment = ma.fields.String()
    created_at = LocalDateTime()


class CaseSchema(CaseSummarySchema):
    query_code = ma.fields.String(metadata={"description": "with the case number, looks the"
                                                           " case up without login"})
    nodes = ma.fields.List(ma.fields.Nested(NodeSchema))
    materials = ma.fields.List(ma.fields.Nested(CaseMaterialSchema))
    form = ma.fields.List(ma.fields.Nested(FormValueSchema))
    children = ma.fields.List(ma.fields.Nested(CaseSummarySchema),
                              metadata={"description": "a bundle's member cases"})
    parent_case_no = ma.fields.String(allow_none=True)
    rating = ma.fields.Nested(RatingViewSchema, allow_none=True)
    can_withdraw = ma.fields.Boolean()
    can_rate = ma.fields.Boolean()


class CaseListSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(CaseSummarySchema))


class CaseListQuerySchema(PageQuerySchema):
    status = ma.fields.String(validate=ma.validate.OneOf(CASE_STATUSES))
    enterprise = ma.fields.String(validate=USCC, metadata={
        "description": "only this bound enterprise's cases"})
    since = ma.fields.AwareDateTime(metadata={"description": "submitted at or after"})
    until = ma.fields.AwareDateTime(metadata={"description": "submitted before"})

    @ma.validates_schema
    def ordered(self, data: dict, **kwargs: Any) -> None:
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            raise ma.ValidationError("since 须早于 until", "until")

    @ma.validates_schema
    def not_too_deep(self, data: dict, **kwargs: Any) -> None:
        # Each page is merged from the newest rows of every scope: deep pages would read
        # ever more of them. A period or status narrows the list instead.
        if data.get("page", 1) * data.get("per_page", 20) > MAX_LISTED:
            raise ma.ValidationError(f"最多翻阅最近 {MAX_LISTED} 件，请按时间段或状态筛选",
                                     "page")


class LookupQuerySchema(RequestSchema):
    case_no = ma.fields.String(required=True, validate=CASE_NO,
                               metadata={"example": "53202611250000001"})
    query_code = ma.fields.String(required=True, validate=ma.validate.Regexp(
        r"^[0-9A-Za-z]{8}$", error="查询码为8位字母或数字"), metadata={"example": "K7M2Q9XA"})


class PublicCaseSchema(ma.Schema):
    case_no = ma.fields.String()
    service = ma.fields.Nested(ServiceRefSchema)
    status = ma.fields.String(metadata={"enum": list(CASE_STATUSES)})
    status_label = ma.fields.String()
    submitted_at = LocalDateTime()
    due_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)
    overdue = ma.fields.Boolean()
    working_days_left = ma.fields.Integer(allow_none=True)
    nodes = ma.fields.List(ma.fields.Nested(NodeSchema(exclude=("note",))))


class WithdrawSchema(RequestSchema):
    reason = ma.fields.String(load_default="", validate=ma.validate.Length(max=200))


@blp.post("/cases")
@user_required
@blp.arguments(IdempotencyHeaderSchema(), location="headers")
@blp.arguments(SubmissionSchema())
@blp.response(201, CaseSchema)
@blp.alt_response(200, schema=CaseSchema,
                  description="the same Idempotency-Key and body again: the case made first")
@blp.alt_response(404, schema=ErrorSchema,
                  description="no such service item, bundle or upload")
@blp.alt_response(409, schema=ErrorSchema,
                  description="a certificate given as material is not the applicant's (or the"
                              " enterprise's), or not valid now; the Idempotency-Key was used"
                              " with another body")
def post_case(headers: dict, body: dict) -> tuple[dict, int]:
    """Apply: one case (a bundle: a parent and one per member) with a case number and query
    code; required materials a held certificate provides are filled in (免提交); an item marked
    for instant approval may be approved at once (秒批)."""
    case, created = submit(current_user, body, headers.get("idempotency_key"))
    db.session.commit()
    return detail(case, current_user), 201 if created else 200


@blp.get("/me/cases")
@user_required
@blp.arguments(CaseListQuerySchema(), location="query")
@blp.response(200, CaseListSchema)
def get_my_cases(query: dict) -> dict:
    """The caller's own cases and those of each enterprise they reach for cases, newest first."""
    page: Page = list_cases(current_user, status=query.get("status"),
                            enterprise_uscc=query.get("enterprise"), since=query.get("since"),
                            until=query.get("until"), page=query["page"],
                            per_page=query["per_page"])
    return {"items": page.items, "page": page.page,
            "per_page": page.per_page, "total": page.total}


@blp.get("/cases/lookup")
@limit_by_ip("case_lookup", 20, 60)
@blp.arguments(LookupQuerySchema(), location="query")
@blp.response(200, PublicCaseSchema)
@blp.alt_response(404, schema=ErrorSchema,
                  description="no case with this number and query code (the two alike)")
def get_lookup(query: dict) -> dict:
    """Progress of a case by its number and query code, without login: no personal data."""
    return public_view(looked_up(query["case_no"], query["query_code"]))


@blp.get("/cases/<case_no:case_no>")
@user_required
@blp.response(200, CaseSchema)
@blp.alt_response(404, schema=ErrorSchema,
                  description="no such case, or one the caller may not see")
def get_case(case_no: str) -> dict:
    """A case with its timeline, materials, form (personal numbers masked) and time left."""
    return detail(visible_case(current_user, case_no), current_user)


@blp.post("/cases/<case_no:case_no>/withdraw")
@user_required
@blp.arguments(WithdrawSchema())
@blp.response(200, CaseSchema)
@blp.alt_response(404, schema=ErrorSchema, description="no such case the caller may see")
@blp.alt_response(409, schema=ErrorSchema,
                  description="already accepted (or finished): it can no longer be withdrawn")
def post_withdraw(body: dict, case_no: str) -> dict:
    """The applicant takes back a case the department has not accepted yet."""
    case = withdraw(current_user, case_no, body["reason"])
    db.session.commit()
    return detail(case, current_user)
