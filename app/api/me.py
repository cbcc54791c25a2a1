"""The caller's own profile and real-name verification."""

from __future__ import annotations

import marshmallow as ma
from flask_jwt_extended import current_user

from app.api.docs import ErrorSchema
from app.api.permissions import user_required
from app.api.request_bodies import Blueprint
from app.api.schemas import LocalDateTime, RequestSchema
from app.api.validators import ID_NUMBER
from app.extensions import db
from app.identity.profile import profile_of_me
from app.identity.real_name import verify_real_name

blp = Blueprint("me", __name__, url_prefix="/api/v1/me", description="The caller's profile")


class EnterpriseBindingSchema(ma.Schema):
    uscc = ma.fields.String()
    name = ma.fields.String()
    relation = ma.fields.String(metadata={"description": "legal_representative or agent"})
    status = ma.fields.String(metadata={"description": "verified or pending"})
    scopes = ma.fields.List(ma.fields.String())
    expires_at = LocalDateTime(allow_none=True)
    active = ma.fields.Boolean(metadata={"description": "reaches the enterprise now"})


class MeSchema(ma.Schema):
    id = ma.fields.String()
    nickname = ma.fields.String()
    real_name_verified = ma.fields.Boolean()
    name_masked = ma.fields.String(allow_none=True, metadata={"example": "张*"})
    id_number_masked = ma.fields.String(allow_none=True,
                                        metadata={"example": "530102********1234"})
    gender = ma.fields.String(allow_none=True)
    region_code = ma.fields.String(allow_none=True)
    invite_code = ma.fields.String(metadata={"description": "give it to a legal representative"
                                                           " to be added as an agent"})
    roles = ma.fields.List(ma.fields.String())
    enterprises = ma.fields.List(ma.fields.Nested(EnterpriseBindingSchema))


class RealNameSchema(RequestSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=2, max=30),
                            metadata={"description": "2-30 Chinese characters; minority and"
                                                     " foreign names may join parts with ·",
                                      "example": "李明"})
    # The form only: the check character is checked after the attempt is counted.
    id_number = ma.fields.String(required=True, load_only=True, validate=ID_NUMBER.form_only())
    code = ma.fields.String(required=True, load_only=True,
                            validate=ma.validate.Length(min=1, max=512),
                            metadata={"description": "the one-time code WeChat's real-name "
                                                     "consent page returns in extraData"})


@blp.get("")
@user_required
@blp.response(200, MeSchema)
def get_me() -> dict:
    """The caller's profile, with personal numbers masked."""
    return profile_of_me(current_user)


@blp.post("/real-name")
@user_required
@blp.arguments(RealNameSchema())
@blp.response(200, MeSchema)
@blp.alt_response(409, schema=ErrorSchema,
                  description="the account is verified as another person, or the ID number"
                              " is bound to another account")
@blp.alt_response(429, schema=ErrorSchema, description="too many verification attempts")
def post_real_name(body: dict) -> dict:
    """Verify the caller's real name with WeChat's real-name check (at most 5 tries an hour)."""
    verify_real_name(current_user, body["name"], body["id_number"], body["code"])
    db.session.commit()
    return profile_of_me(current_user)
