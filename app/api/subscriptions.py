"""The caller's consent to WeChat subscribe messages: what `wx.requestSubscribeMessage` gave."""

from __future__ import annotations

import marshmallow as ma
from flask_jwt_extended import current_user

from app.api.permissions import user_required
from app.api.request_bodies import Blueprint
from app.api.schemas import LocalDateTime, RequestSchema
from app.api.validators import DocumentedRule
from app.extensions import db
from app.push.consent import RESULTS, record
from app.push.rule_checks import MAX_TEMPLATE_ID_LENGTH, TEMPLATE_ID

blp = Blueprint("subscriptions", __name__, url_prefix="/api/v1/me/subscriptions",
                description="The caller's consent to WeChat subscribe messages")
Str = ma.fields.String

TEMPLATE = DocumentedRule(
    None, pattern=f"^(?:{TEMPLATE_ID.pattern})$",
    description="a subscribe-message template id, as the mini program asked consent for",
    example="tpl-service-reminder")


class SubscriptionResultSchema(RequestSchema):
    template_id = Str(required=True, validate=[
        ma.validate.Length(max=MAX_TEMPLATE_ID_LENGTH), TEMPLATE])
    result = Str(required=True, validate=ma.validate.OneOf(RESULTS), metadata={
        "description": "what the caller chose in WeChat's dialog for this template"})


class SubscriptionSchema(ma.Schema):
    template_id = Str(metadata={"example": "tpl-service-reminder"})
    credits = ma.fields.Integer(metadata={
        "description": "sends left of a one-time template; 1 while a long-term template's"
                       " consent stands, else 0"})
    long_term = ma.fields.Boolean(metadata={
        "description": "one accept allows sends until a reject (else one send per accept)"})
    can_send = ma.fields.Boolean(metadata={
        "description": "whether a WeChat message of this template may reach the caller now"})
    updated_at = LocalDateTime(allow_none=True)


@blp.post("")
@user_required
@blp.arguments(SubscriptionResultSchema())
@blp.response(200, SubscriptionSchema)
def post_subscription(body: dict) -> dict:
    """Record what the caller answered to `wx.requestSubscribeMessage` for one template; their
    consent for it afterwards."""
    state = record(current_user.id, body["template_id"], body["result"])
    db.session.commit()
    return state
