"""Audience preview for admins: who an unsaved expression reaches now, before a rule names it."""

from __future__ import annotations

import marshmallow as ma

from app.api.permissions import roles_required
from app.api.request_bodies import Blueprint
from app.api.schemas import RequestSchema
from app.push.audiences import preview
from app.push.expressions import MAX_EXPRESSION_LENGTH

blp = Blueprint("audiences_admin", __name__, url_prefix="/api/v1/admin/audiences",
                description="Audience preview (push_admin, push_approver)")
Str = ma.fields.String


class AudienceInSchema(RequestSchema):
    audience = Str(required=True, validate=ma.validate.Length(min=1, max=MAX_EXPRESSION_LENGTH),
                   metadata={"description": "tags combined with AND, OR, NOT and parentheses;"
                                            " `region:5301` covers every region code under"
                                            " it. An error answers 422 naming `audience` with"
                                            " `offset N` (from 0)",
                             "example": "region:5301 AND age:60+ AND NOT optout:pension"})


class SampledUserSchema(ma.Schema):
    user_id = Str()
    name_masked = Str(allow_none=True, metadata={"example": "李*"})
    matched_tags = ma.fields.List(Str(), metadata={
        "description": "the person's tags that made them match; sensitive ones left out"})


class PreviewSchema(ma.Schema):
    audience = Str(metadata={"description": "the expression in its canonical form"})
    audience_size = ma.fields.Integer()
    sample = ma.fields.List(ma.fields.Nested(SampledUserSchema), metadata={
        "description": "up to 20 people spread evenly over the audience"})
    evaluated_in_ms = ma.fields.Float()


@blp.post("/preview")
@roles_required("push_admin", "push_approver")
@blp.arguments(AudienceInSchema())
@blp.response(200, PreviewSchema)
def post_preview(body: dict) -> dict:
    """Who the expression reaches now: its size and a masked sample with the tags that made
    each one match. Nothing is saved or sent."""
    return preview(body["audience"])
