"""Bundles (一件事一次办)."""

from __future__ import annotations

import marshmallow as ma

from app.api.http_cache import versioned
from app.api.request_bodies import Blueprint
from app.api.schemas import RequestSchema
from app.catalog.queries import get_bundle, list_bundles
from app.models.catalog import USER_AUDIENCES

blp = Blueprint("bundles", __name__, url_prefix="/api/v1/bundles",
                description="一件事: several items, one form, one submission")


class BundleQuerySchema(RequestSchema):
    audience = ma.fields.String(validate=ma.validate.OneOf(USER_AUDIENCES))


class BundleSummarySchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    audience = ma.fields.String()
    description = ma.fields.String()
    item_count = ma.fields.Integer()


class BundleListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(BundleSummarySchema))


class BundleMaterialSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    required = ma.fields.Boolean()
    copies = ma.fields.Integer()
    certificate_type = ma.fields.String(allow_none=True)
    for_items = ma.fields.List(ma.fields.String(),
                               metadata={"description": "the member items that ask for it"})


class BundleSchema(BundleSummarySchema):
    items = ma.fields.List(ma.fields.Dict())
    materials = ma.fields.List(ma.fields.Nested(BundleMaterialSchema))
    form = ma.fields.Dict(metadata={"description": "the one form: {fields: [...]}"})


@blp.get("")
@versioned
@blp.arguments(BundleQuerySchema(), location="query")
@blp.response(200, BundleListSchema)
def get_bundles(query: dict) -> dict:
    """Bundles, optionally for one audience."""
    return {"items": list_bundles(query.get("audience"))}


@blp.get("/<bundle_code:code>")
@versioned
@blp.response(200, BundleSchema)
def get_one_bundle(code: str) -> dict:
    """A bundle with its items, merged material list and form."""
    return get_bundle(code)
