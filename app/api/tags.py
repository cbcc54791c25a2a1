"""The caller's own profile tags: what the system holds about them, and disputing a manual one."""

from __future__ import annotations

import marshmallow as ma
from flask_jwt_extended import current_user

from app.api.docs import ErrorSchema
from app.api.permissions import user_required
from app.api.request_bodies import Blueprint
from app.api.schemas import LocalDateTime, RequestSchema
from app.extensions import db
from app.models.tag import DISPUTE_STATUSES, MEMBERSHIP_SOURCES, TagDispute
from app.push.tags import dispute, tags_of

blp = Blueprint("tags", __name__, url_prefix="/api/v1/me/tags",
                description="The caller's profile tags, and disputes of manual ones")
Str = ma.fields.String


class DisputeStateSchema(ma.Schema):
    id = Str()
    status = Str(metadata={"enum": list(DISPUTE_STATUSES), "description": "open: waiting for"
                           " an admin; upheld: the tag stands; removed: it was taken away"})
    created_at = LocalDateTime()
    resolved_at = LocalDateTime(allow_none=True)
    resolution_note = Str()


class TagDisputeSchema(DisputeStateSchema):
    tag = Str()
    reason = Str()


class MyTagSchema(ma.Schema):
    tag = Str(metadata={"example": "life:newborn"})
    description = Str(metadata={"description": "what the tag (or its family) means"})
    source = Str(metadata={"enum": list(MEMBERSHIP_SOURCES), "description": "manual or"
                           " upload: added by an admin; computed: from the caller's own data"})
    since = LocalDateTime()
    expires_at = LocalDateTime(allow_none=True)
    sensitive = ma.fields.Boolean(metadata={"description": "never shown to anyone else"})
    disputable = ma.fields.Boolean(metadata={"description": "added by an admin and not"
                                                            " disputed yet"})
    dispute = ma.fields.Nested(DisputeStateSchema, allow_none=True)


class MyTagListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(MyTagSchema))


class DisputeInSchema(RequestSchema):
    reason = Str(required=True, validate=ma.validate.Length(min=1, max=500),
                 metadata={"example": "孩子已满三周岁"})


@blp.get("")
@user_required
@blp.response(200, MyTagListSchema)
def get_my_tags() -> dict:
    """Every tag the caller carries, where it came from and since when (sensitive ones too:
    they are the caller's own)."""
    return {"items": tags_of(current_user)}


@blp.post("/<tag:tag>/dispute")
@user_required
@blp.arguments(DisputeInSchema())
@blp.response(201, TagDisputeSchema)
@blp.alt_response(404, schema=ErrorSchema, description="the caller does not carry the tag")
@blp.alt_response(409, schema=ErrorSchema,
                  description="computed from the caller's own data (`tag_computed`), or"
                              " disputed before (`dispute_exists`)")
def post_dispute(body: dict, tag: str) -> tuple[TagDispute, int]:
    """Say a tag an admin added is wrong: it stops counting for the caller until an admin
    decides. Once per tag."""
    record = dispute(current_user, tag, body["reason"])
    db.session.commit()
    return record, 201
