"""免提交: materials of a service the caller's certificates already provide."""

from __future__ import annotations

import marshmallow as ma
from flask_jwt_extended import current_user

from app.api.permissions import user_required
from app.api.request_bodies import Blueprint
from app.api.schemas import RequestSchema
from app.api.validators import USCC
from app.certificates.prefill import prefill

blp = Blueprint("prefill", __name__, url_prefix="/api/v1/services",
                description="Materials replaced by held e-certificates")


class PrefillQuerySchema(RequestSchema):
    enterprise = ma.fields.String(validate=USCC, metadata={
        "description": "USCC of a bound enterprise when applying for it"})


class PrefillMaterialSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    required = ma.fields.Boolean()
    certificate_type = ma.fields.String(allow_none=True)
    satisfied = ma.fields.Boolean()
    holder = ma.fields.String(allow_none=True, metadata={"description": "self or enterprise"})
    certificate = ma.fields.Dict(allow_none=True)


class PrefillSchema(ma.Schema):
    service_code = ma.fields.String()
    materials = ma.fields.List(ma.fields.Nested(PrefillMaterialSchema))
    satisfied = ma.fields.Integer()
    still_required = ma.fields.List(ma.fields.String())


@blp.get("/<item_code:code>/materials/prefill")
@user_required
@blp.arguments(PrefillQuerySchema(), location="query")
@blp.response(200, PrefillSchema)
def get_prefill(query: dict, code: str) -> dict:
    """For the caller: which materials their valid certificates (or their enterprise's) satisfy."""
    return prefill(current_user, code, query.get("enterprise"))
