"""Push rules for admins: write and preview them, and move them from draft to the kill switch.

`push_admin` writes and submits; another admin with `push_approver` approves or rejects;
either pauses, resumes or stops a live rule; auditors read. The domain checks every rule and
audit-logs every edit and move.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_jwt_extended import current_user

from app.api.admin.audiences import PreviewSchema
from app.api.docs import ErrorSchema
from app.api.permissions import roles_required
from app.api.request_bodies import Blueprint
from app.api.schemas import LocalDateTime, PageQuerySchema, PageSchema, RequestSchema
from app.api.validators import BUNDLE_CODE_PATTERN, ITEM_CODE, TAG_NAME_EXAMPLE
from app.extensions import db
from app.models.case import CASE_STATUSES
from app.models.push import CHANNELS, PRIORITIES, RULE_STATUSES, SCHEDULE_TYPES, PushRule
from app.platform.clock import CHINA_TZ
from app.platform.pages import Page
from app.push import rules
from app.push.expressions import MAX_EXPRESSION_LENGTH
from app.push.preferences import CATEGORY
from app.push.rule_checks import (
    EVENT_PARAMS,
    MAX_BODY_LENGTH,
    MAX_CAP,
    MAX_CRON_LENGTH,
    MAX_DATA_KEYS,
    MAX_EXPIRING_DAYS,
    MAX_NAME_LENGTH,
    MAX_REASON_LENGTH,
    MAX_TEMPLATE_ID_LENGTH,
    MAX_TITLE_LENGTH,
    MAX_VALUE_LENGTH,
    TEMPLATE_ID,
    WECHAT_KEY,
)

blp = Blueprint("push_rules_admin", __name__, url_prefix="/api/v1/admin/push-rules",
                description="Push rules and their lifecycle (push_admin writes, push_approver"
                            " approves, auditors read)")
READERS = ("push_admin", "push_approver", "auditor")
PREVIEWERS = ("push_admin", "push_approver")
# Either may hold or stop a live rule: the kill switch must be at hand.
STEWARDS = ("push_admin", "push_approver")
Str = ma.fields.String
Int = ma.fields.Integer
Length = ma.validate.Length
# A tag name, or a pattern ending in `:*` for every tag under it.
TAG_PATTERN = r"^[a-z][a-z0-9_]*(?::[A-Za-z0-9_+.-]+)*:(?:[A-Za-z0-9_+.-]+|\*)$"
# China time when the offset is left out.
When = ma.fields.AwareDateTime


class PushRuleMessageInSchema(RequestSchema):
    title = Str(required=True, validate=Length(min=1, max=MAX_TITLE_LENGTH))
    body = Str(required=True, validate=Length(min=1, max=MAX_BODY_LENGTH))
    service_code = Str(validate=ITEM_CODE, metadata={
        "description": "the service item the message leads to (in the catalog)"})
    bundle_code = Str(validate=ma.validate.Regexp(BUNDLE_CODE_PATTERN), metadata={
        "description": "or the bundle (一件事) it leads to", "example": "B001"})
    case_page = ma.fields.Boolean(metadata={
        "description": "or true: the case the event is about (case events only)"})


class PushRuleWechatInSchema(RequestSchema):
    template_id = Str(required=True, validate=[
        Length(min=1, max=MAX_TEMPLATE_ID_LENGTH), ma.validate.Regexp(f"^{TEMPLATE_ID.pattern}$")],
        metadata={"example": "sD2kX9-pension_notice"})
    data = ma.fields.Dict(
        keys=Str(validate=ma.validate.Regexp(f"^{WECHAT_KEY.pattern}$")),
        values=Str(validate=Length(min=1, max=MAX_VALUE_LENGTH)), required=True, metadata={
            "minProperties": 1, "maxProperties": MAX_DATA_KEYS,
            "description": "the template's keys (type and number: thing1, time2) and values;"
                           " WeChat's value rules for each type are checked at submit. Values"
                           " may hold {date}, {case_no} (case events) and {service_name}"
                           " (rules with a target, case events), filled at send time",
            "example": {"thing1": "养老金资格认证", "time2": "{date} 09:00"}})


class PushRuleScheduleInSchema(RequestSchema):
    type = Str(required=True, validate=ma.validate.OneOf(SCHEDULE_TYPES))
    at = When(default_timezone=CHINA_TZ, metadata={
        "description": "once: when to send (China time without an offset); absent: as soon"
                       " as approved"})
    expression = Str(validate=Length(min=1, max=MAX_CRON_LENGTH), metadata={
        "description": "cron: five fields (minute hour day month weekday) in China time, at"
                       " most once an hour", "example": "0 9 * * 1"})
    event = Str(validate=ma.validate.OneOf(list(EVENT_PARAMS)))
    status = Str(validate=ma.validate.OneOf(CASE_STATUSES), metadata={
        "description": "case_moved: only moves to this status"})
    days = Int(strict=True, validate=ma.validate.Range(min=1, max=MAX_EXPIRING_DAYS),
               metadata={"description": "certificate_expiring: days before the expiry"})
    certificate_type = Str(validate=Length(min=1, max=48), metadata={
        "description": "certificate_expiring: only certificates of this type"})
    tag = Str(validate=[Length(max=64), ma.validate.Regexp(TAG_PATTERN)], metadata={
        "description": "tag_gained: the tag, or `namespace:*` for any under it",
        "example": TAG_NAME_EXAMPLE})


class PushRuleCapInSchema(RequestSchema):
    per_day = Int(strict=True, validate=ma.validate.Range(min=1, max=MAX_CAP))
    per_week = Int(strict=True, validate=ma.validate.Range(min=1, max=MAX_CAP))


class PushRuleInSchema(RequestSchema):
    name = Str(required=True, validate=Length(min=1, max=MAX_NAME_LENGTH),
               metadata={"example": "养老金资格认证提醒"})
    audience = Str(required=True, validate=Length(min=1, max=MAX_EXPRESSION_LENGTH), metadata={
        "description": "tags combined with AND, OR, NOT and parentheses; an error answers 422"
                       " naming `audience` with `offset N` (from 0)",
        "example": "region:5301 AND age:60+ AND NOT optout:pension"})
    category = Str(required=True, validate=ma.validate.Regexp(CATEGORY.pattern), metadata={
        "description": "the unit a person can mute", "example": "pension"})
    reason = Str(validate=Length(max=MAX_REASON_LENGTH), metadata={
        "description": "why people get it, shown in the message's `why`"})
    message = ma.fields.Nested(PushRuleMessageInSchema, required=True, metadata={
        "description": "title, body, and at most one target; no personal numbers (no run of"
                       " 11 or more digits)",
        "example": {"title": "养老金资格认证", "body": "请在本月内完成养老金领取资格认证。",
                    "service_code": "GF00001001"}})
    channels = ma.fields.List(Str(validate=ma.validate.OneOf(CHANNELS)), required=True,
                              validate=Length(min=1, max=len(CHANNELS)),
                              metadata={"example": ["inbox"]})
    wechat = ma.fields.Nested(PushRuleWechatInSchema, allow_none=True, metadata={
        "description": "the subscribe message; required with the wechat channel"})
    schedule = ma.fields.Nested(PushRuleScheduleInSchema, required=True, metadata={
        "description": "once (`at`), cron (`expression`) or event (`event` and its"
                       " parameters)", "example": {"type": "once"}})
    frequency_cap = ma.fields.Nested(PushRuleCapInSchema, allow_none=True, metadata={
        "description": "this rule's messages per person per day and per week"})
    priority = Str(load_default="normal", validate=ma.validate.OneOf(PRIORITIES))
    ends_at = When(default_timezone=CHINA_TZ, allow_none=True, metadata={
        "description": "after this the rule sends nothing more (it is finished)"})


class PushRuleMessageSchema(ma.Schema):
    title = Str()
    body = Str()
    service_code = Str()
    bundle_code = Str()
    case_page = ma.fields.Boolean()


class PushRuleWechatSchema(ma.Schema):
    template_id = Str()
    data = ma.fields.Dict(keys=Str(), values=Str())


class PushRuleScheduleSchema(ma.Schema):
    type = Str(metadata={"enum": list(SCHEDULE_TYPES)})
    at = LocalDateTime(allow_none=True)
    expression = Str()
    event = Str()
    status = Str()
    days = Int()
    certificate_type = Str()
    tag = Str()


class PushRuleCapSchema(ma.Schema):
    per_day = Int()
    per_week = Int()


class PushRuleSchema(ma.Schema):
    id = Str(metadata={"example": "1"})
    name = Str()
    audience = Str(metadata={"description": "the expression in its canonical form"})
    category = Str()
    reason = Str()
    message = ma.fields.Nested(PushRuleMessageSchema)
    channels = ma.fields.List(Str())
    wechat = ma.fields.Nested(PushRuleWechatSchema, allow_none=True)
    schedule = ma.fields.Nested(PushRuleScheduleSchema)
    frequency_cap = ma.fields.Nested(PushRuleCapSchema, allow_none=True)
    priority = Str(metadata={"enum": list(PRIORITIES)})
    ends_at = LocalDateTime(allow_none=True)
    status = Str(metadata={"enum": list(RULE_STATUSES), "description": "an active or paused"
                           " rule past its `ends_at` shows as finished"})
    created_by = Str(allow_none=True, metadata={"description": "admin ids"})
    submitted_by = Str(allow_none=True)
    approved_by = Str(allow_none=True)
    approved_at = LocalDateTime(allow_none=True)
    review_note = Str(metadata={"description": "the approver's note when rejected"})
    created_at = LocalDateTime()
    updated_at = LocalDateTime()
    next_run_at = LocalDateTime(allow_none=True, metadata={
        "description": "when a scheduled rule sends next; none for event rules"})


class PushRulePageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(PushRuleSchema))


class PushRuleQuerySchema(PageQuerySchema):
    status = Str(validate=ma.validate.OneOf(RULE_STATUSES))


class PushRuleRejectSchema(RequestSchema):
    note = Str(required=True, validate=Length(min=1, max=rules.MAX_NOTE_LENGTH), metadata={
        "description": "why, for the author", "example": "标题请写明办理截止日期"})


ILLEGAL = "the rule's status does not allow this (`illegal_transition`, naming both)"
NOT_SENDABLE = "the rule could not send as it stands: each field named"


def _shown(rule: PushRule) -> dict[str, Any]:
    """Commit the change, and show the rule as it now stands."""
    db.session.commit()
    return rules.view_of(rule)


@blp.post("")
@roles_required("push_admin")
@blp.arguments(PushRuleInSchema())
@blp.response(201, PushRuleSchema)
def post_rule(body: dict) -> tuple[dict[str, Any], int]:
    """Write a rule: a draft, checked in full (422 naming each field that is wrong)."""
    return _shown(rules.create(current_user, body)), 201


@blp.get("")
@roles_required(*READERS)
@blp.arguments(PushRuleQuerySchema(), location="query")
@blp.response(200, PushRulePageSchema)
def get_rules(query: dict) -> Page:
    """Rules, the newest first, optionally of one status."""
    return rules.rules_page(page=query["page"], per_page=query["per_page"],
                            status=query.get("status"))


@blp.get("/<id:rule_id>")
@roles_required(*READERS)
@blp.response(200, PushRuleSchema)
def get_rule(rule_id: int) -> dict[str, Any]:
    """One rule."""
    return rules.view_of(rules.rule_of(rule_id))


@blp.patch("/<id:rule_id>")
@roles_required("push_admin")
@blp.arguments(PushRuleInSchema(partial=True))
@blp.response(200, PushRuleSchema)
@blp.alt_response(409, schema=ErrorSchema, description=ILLEGAL)
def patch_rule(body: dict, rule_id: int) -> dict[str, Any]:
    """Replace the given fields of a draft or rejected rule (which becomes a draft again);
    nested objects are replaced whole."""
    return _shown(rules.edit(current_user, rule_id, body))


@blp.post("/<id:rule_id>/preview")
@roles_required(*PREVIEWERS)
@blp.response(200, PreviewSchema)
def post_preview(rule_id: int) -> dict[str, Any]:
    """Who the rule's audience reaches now: its size and a masked sample. Nothing is sent."""
    return rules.preview_of(rule_id)


@blp.post("/<id:rule_id>/submit")
@roles_required("push_admin")
@blp.response(200, PushRuleSchema)
@blp.alt_response(409, schema=ErrorSchema, description=ILLEGAL)
@blp.alt_response(422, schema=ErrorSchema, description=NOT_SENDABLE)
def post_submit(rule_id: int) -> dict[str, Any]:
    """Ask for approval; the rule is checked for sending first (WeChat value rules too)."""
    return _shown(rules.submit(current_user, rule_id))


@blp.post("/<id:rule_id>/approve")
@roles_required("push_approver")
@blp.response(200, PushRuleSchema)
@blp.alt_response(403, schema=ErrorSchema, description="the caller lacks push_approver, or"
                  " created, edited or submitted the rule (`self_approval`)")
@blp.alt_response(409, schema=ErrorSchema, description=ILLEGAL)
@blp.alt_response(422, schema=ErrorSchema, description=NOT_SENDABLE)
def post_approve(rule_id: int) -> dict[str, Any]:
    """Approve a submitted rule: it goes live, and a scheduled one is due at `next_run_at`."""
    return _shown(rules.approve(current_user, rule_id))


@blp.post("/<id:rule_id>/reject")
@roles_required("push_approver")
@blp.arguments(PushRuleRejectSchema())
@blp.response(200, PushRuleSchema)
@blp.alt_response(409, schema=ErrorSchema, description=ILLEGAL)
def post_reject(body: dict, rule_id: int) -> dict[str, Any]:
    """Send a submitted rule back to its author with a note; it can be edited again."""
    return _shown(rules.reject(current_user, rule_id, body["note"]))


@blp.post("/<id:rule_id>/pause")
@roles_required(*STEWARDS)
@blp.response(200, PushRuleSchema)
@blp.alt_response(409, schema=ErrorSchema, description=ILLEGAL)
def post_pause(rule_id: int) -> dict[str, Any]:
    """Hold a live rule: nothing more is sent until it resumes."""
    return _shown(rules.pause(current_user, rule_id))


@blp.post("/<id:rule_id>/resume")
@roles_required(*STEWARDS)
@blp.response(200, PushRuleSchema)
@blp.alt_response(409, schema=ErrorSchema, description=ILLEGAL)
def post_resume(rule_id: int) -> dict[str, Any]:
    """Let a paused rule send again (a cron rule from its next time on)."""
    return _shown(rules.resume(current_user, rule_id))


@blp.post("/<id:rule_id>/stop")
@roles_required(*STEWARDS)
@blp.response(200, PushRuleSchema)
@blp.alt_response(409, schema=ErrorSchema, description=ILLEGAL)
def post_stop(rule_id: int) -> dict[str, Any]:
    """The kill switch: the rule sends nothing more, a run in flight included. Final."""
    return _shown(rules.stop(current_user, rule_id))
