"""The home page the mini program opens on."""

from __future__ import annotations

import marshmallow as ma

from app.api.catalog_schemas import (
    CodeNameSchema,
    ItemSummarySchema,
    RecommendedItemSchema,
)
from app.api.docs import ErrorSchema
from app.api.http_cache import short_lived
from app.api.permissions import optional_user
from app.api.request_bodies import Blueprint
from app.api.schemas import RequestSchema, prebuilt
from app.api.validators import REGION_CODE
from app.catalog.home import home
from app.models.catalog import USER_AUDIENCES

blp = Blueprint("home", __name__, url_prefix="/api/v1/home", description="The home page")


class HomeQuerySchema(RequestSchema):
    region = ma.fields.String(validate=REGION_CODE)
    audience = ma.fields.String(validate=ma.validate.OneOf(USER_AUDIENCES),
                                load_default="personal")


class HomeSchema(ma.Schema):
    region = ma.fields.Nested(CodeNameSchema)
    audience = ma.fields.String()
    pinned = ma.fields.List(ma.fields.Nested(ItemSummarySchema))
    recommended = ma.fields.List(ma.fields.Nested(RecommendedItemSchema))
    hot = ma.fields.List(ma.fields.Nested(ItemSummarySchema))
    recent = ma.fields.List(ma.fields.Nested(ItemSummarySchema))
    favorites = ma.fields.List(ma.fields.Nested(ItemSummarySchema))
    unread_messages = ma.fields.Integer()


@blp.get("")
@short_lived(0, private=True)
@blp.arguments(HomeQuerySchema(), location="query")
@blp.response(200, HomeSchema)
@blp.alt_response(401, schema=ErrorSchema,
                  description="a token came with the request and is invalid, expired or revoked")
@prebuilt
def get_home(query: dict) -> dict:
    """Pinned and hot for everyone; with a login also recommended (with reasons), recent and
    favourites. The region defaults to the user's registered region."""
    return home(optional_user(), query.get("region"), query["audience"])
