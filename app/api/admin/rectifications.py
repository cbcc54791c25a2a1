"""好差评 for admins: the statistics, and the follow-up of the rectifications bad ratings open.

The office that curates services (`catalog_admin`) follows rectifications up, every step
audit-logged; auditors read them and the statistics.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_jwt_extended import current_user

from app.api.docs import ErrorSchema
from app.api.permissions import roles_required
from app.api.request_bodies import Blueprint
from app.api.schemas import LocalDateTime, PageQuerySchema, PageSchema, RequestSchema
from app.api.validators import REGION_CODE
from app.cases.rating_stats import GROUPS, MAX_DAYS, rating_stats
from app.cases.rectifications import (
    ACTIONS,
    find_rectification,
    follow_up,
    list_rectifications,
    views,
)
from app.extensions import db
from app.models.case import RECTIFICATION_STATUSES
from app.platform import audit
from app.platform.pages import Page

blp = Blueprint("rectifications", __name__, url_prefix="/api/v1/admin",
                description="好差评: statistics and rectification follow-up (catalog_admin;"
                            " auditors read)")
READERS = ("catalog_admin", "auditor")
Str = ma.fields.String
# The field each action takes besides its name (close takes none).
ACTION_FIELDS = (("assignee", "assign"), ("reply", "reply"))


class RectificationQuerySchema(PageQuerySchema):
    status = Str(validate=ma.validate.OneOf(RECTIFICATION_STATUSES))
    department = Str(validate=ma.validate.Length(min=1, max=128))
    overdue = ma.fields.Boolean(metadata={
        "description": "true: only those waiting for an answer past their due time; false:"
                       " only the others"})


class RectificationActionSchema(RequestSchema):
    action = Str(required=True, validate=ma.validate.OneOf(list(ACTIONS)), metadata={
        "description": "assign (from open or assigned), reply (from open or assigned), close"
                       " (after a reply)"})
    assignee = Str(validate=ma.validate.Length(min=1, max=64),
                   metadata={"description": "with assign: who handles it", "example": "窗口科"})
    reply = Str(validate=ma.validate.Length(min=1, max=1000),
                metadata={"description": "with reply: the answer the rater reads"})

    @ma.validates_schema
    def fields_of_the_action(self, data: dict, **kwargs: Any) -> None:
        for name, action in ACTION_FIELDS:
            if data.get("action") == action and name not in data:
                raise ma.ValidationError(f"{action} 操作须填写 {name}", name)
            if data.get("action") != action and name in data:
                raise ma.ValidationError(f"{name} 仅用于 {action} 操作", name)


class RectificationServiceSchema(ma.Schema):
    code = Str()
    name = Str()


class RectificationRatingSchema(ma.Schema):
    score = ma.fields.Integer()
    tags = ma.fields.List(Str())
    comment = Str()
    created_at = LocalDateTime()
    rater_name_masked = Str(allow_none=True, metadata={"example": "李*"})


class RectificationSchema(ma.Schema):
    id = Str()
    case_no = Str()
    service = ma.fields.Nested(RectificationServiceSchema)
    department = Str()
    region_code = Str()
    status = Str(metadata={"enum": list(RECTIFICATION_STATUSES)})
    status_label = Str()
    due_at = LocalDateTime()
    overdue = ma.fields.Boolean(metadata={"description": "waiting for an answer past due"})
    assignee = Str()
    reply = Str()
    replied_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)
    appeal = Str(metadata={"description": "the rater's reason, when they appealed"})
    appealed_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()
    updated_at = LocalDateTime()
    rating = ma.fields.Nested(RectificationRatingSchema)


class RectificationListSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(RectificationSchema))


class RatingStatsQuerySchema(RequestSchema):
    group_by = Str(load_default="service", validate=ma.validate.OneOf(GROUPS))
    since = ma.fields.Date(metadata={"description": "first China day of the period (default:"
                                                    " 29 days before `until`)"})
    until = ma.fields.Date(metadata={"description": "last China day of the period (default:"
                                                    f" today); at most {MAX_DAYS} days in all"})
    region = Str(validate=REGION_CODE, metadata={
        "description": "a code of the region table: only cases in that region and the regions"
                       " under it"})


class RatingStatsRowSchema(ma.Schema):
    key = Str(metadata={"description": "the service code, department or region code"})
    name = Str()
    cases = ma.fields.Integer(metadata={"description": "item cases submitted in the period"})
    finished = ma.fields.Integer(metadata={"description": "of them approved or rejected"})
    rated = ma.fields.Integer()
    satisfaction = ma.fields.Float(allow_none=True, metadata={
        "description": "share of ratings scoring 4 or 5"})
    average_score = ma.fields.Float(allow_none=True)
    online_share = ma.fields.Float(allow_none=True, metadata={"description": "网办率"})
    instant_share = ma.fields.Float(allow_none=True, metadata={"description": "秒批 share"})
    overdue_rate = ma.fields.Float(allow_none=True, metadata={
        "description": "late among the cases whose timeliness is settled: finished ones, and"
                       " open ones already past due with their clock running"})


class RatingStatsSchema(ma.Schema):
    group_by = Str(metadata={"enum": list(GROUPS)})
    since = ma.fields.Date()
    until = ma.fields.Date()
    region = Str(allow_none=True)
    rows = ma.fields.List(ma.fields.Nested(RatingStatsRowSchema))
    totals = ma.fields.Nested(RatingStatsRowSchema)


@blp.get("/rectifications")
@roles_required(*READERS)
@blp.arguments(RectificationQuerySchema(), location="query")
@blp.response(200, RectificationListSchema)
def get_rectifications(query: dict) -> dict:
    """Rectifications bad ratings opened, the one due first at the top."""
    page: Page = list_rectifications(
        status=query.get("status"), department=query.get("department"),
        overdue=query.get("overdue"), page=query["page"], per_page=query["per_page"])
    return {"items": views(page.items), "page": page.page, "per_page": page.per_page,
            "total": page.total}


@blp.get("/rectifications/<id:rectification_id>")
@roles_required(*READERS)
@blp.response(200, RectificationSchema)
@blp.alt_response(404, schema=ErrorSchema, description="no such rectification")
def get_rectification(rectification_id: int) -> dict:
    """One rectification with the rating that opened it (the rater's name masked)."""
    return views([find_rectification(rectification_id)])[0]


@blp.patch("/rectifications/<id:rectification_id>")
@roles_required("catalog_admin")
@blp.arguments(RectificationActionSchema())
@blp.response(200, RectificationSchema)
@blp.alt_response(404, schema=ErrorSchema, description="no such rectification")
@blp.alt_response(409, schema=ErrorSchema,
                  description="the state machine does not allow the action now"
                              " (`illegal_transition`, naming it)")
def patch_rectification(body: dict, rectification_id: int) -> dict:
    """Follow a rectification up: assign it, reply to the rater, close it after the reply."""
    rectification, before = follow_up(rectification_id, body["action"], current_user,
                                      assignee=body.get("assignee"), reply=body.get("reply"))
    details: dict[str, Any] = {"case_no": rectification.case.case_no, "from": before,
                               "to": rectification.status}
    if body["action"] == "assign":
        details["assignee"] = rectification.assignee
    audit.record(f"rectification.{rectification.status}", actor=current_user,
                 target_type="rectification", target_id=rectification.id, details=details)
    db.session.commit()
    return views([rectification])[0]


@blp.get("/ratings/stats")
@roles_required(*READERS)
@blp.arguments(RatingStatsQuerySchema(), location="query")
@blp.response(200, RatingStatsSchema)
def get_rating_stats(query: dict) -> dict:
    """Volume, satisfaction, 网办率, 秒批 share and overdue rate of the item cases submitted in
    a period, by service, department or region, with totals (default: the last 30 days)."""
    return rating_stats(group_by=query["group_by"], since=query.get("since"),
                        until=query.get("until"), region=query.get("region"))
