"""Themes (主题): the groupings of service items the mini program opens on."""

from __future__ import annotations

import marshmallow as ma

from app.api.http_cache import versioned
from app.api.request_bodies import Blueprint
from app.api.schemas import RequestSchema, prebuilt
from app.catalog.queries import list_themes
from app.models.catalog import USER_AUDIENCES

blp = Blueprint("themes", __name__, url_prefix="/api/v1/themes", description="Catalog themes")


class ThemeQuerySchema(RequestSchema):
    audience = ma.fields.String(validate=ma.validate.OneOf(USER_AUDIENCES))


class ThemeSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    audience = ma.fields.String()
    description = ma.fields.String()
    icon = ma.fields.String()
    item_count = ma.fields.Integer()


class ThemeListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ThemeSchema))


@blp.get("")
@versioned
@blp.arguments(ThemeQuerySchema(), location="query")
@blp.response(200, ThemeListSchema)
@prebuilt
def get_themes(query: dict) -> dict:
    """Themes with the number of items in each, optionally for one audience."""
    return {"items": list_themes(query.get("audience"))}
