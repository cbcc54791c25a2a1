"""Service items: lists, the hot list, guides, and recording a use."""

from __future__ import annotations

import marshmallow as ma

from app.api.catalog_schemas import (
    GuideSchema,
    ItemListSchema,
    ItemPageSchema,
)
from app.api.docs import ErrorSchema
from app.api.http_cache import short_lived, versioned
from app.api.permissions import optional_user
from app.api.rate_limits import limit_by_ip
from app.api.request_bodies import Blueprint
from app.api.schemas import PageQuerySchema, RequestSchema, prebuilt
from app.api.validators import REGION_CODE
from app.catalog.home import DEFAULT_REGION, record_visit
from app.catalog.hot import hot_items
from app.catalog.queries import get_service, list_services
from app.extensions import db
from app.models.catalog import ONLINE_LEVELS, USER_AUDIENCES
from app.platform.pages import Page

blp = Blueprint("services", __name__, url_prefix="/api/v1/services",
                description="Service items and their guides")
AUDIENCE = ma.validate.OneOf(USER_AUDIENCES)


class ServiceQuerySchema(PageQuerySchema):
    theme = ma.fields.String(validate=ma.validate.Length(max=32))
    audience = ma.fields.String(validate=AUDIENCE)
    region = ma.fields.String(validate=REGION_CODE)
    online_level = ma.fields.String(validate=ma.validate.OneOf(ONLINE_LEVELS))


class HotQuerySchema(RequestSchema):
    region = ma.fields.String(validate=REGION_CODE, load_default=DEFAULT_REGION)
    audience = ma.fields.String(validate=AUDIENCE, load_default="personal")
    limit = ma.fields.Integer(validate=ma.validate.Range(min=1, max=50), load_default=10)


class VisitSchema(RequestSchema):
    region = ma.fields.String(validate=REGION_CODE)
    audience = ma.fields.String(validate=AUDIENCE, load_default="personal")


class VisitResultSchema(ma.Schema):
    status = ma.fields.String(metadata={"example": "recorded"})


@blp.get("")
@versioned
@blp.arguments(ServiceQuerySchema(), location="query")
@blp.response(200, ItemPageSchema)
def get_services(query: dict) -> Page:
    """Service items in curated order, filtered by theme, audience, region and online level."""
    return list_services(
        theme=query.get("theme"), audience=query.get("audience"), region=query.get("region"),
        online_level=query.get("online_level"), page=query["page"], per_page=query["per_page"])


@blp.get("/hot")
@short_lived(30)
@blp.arguments(HotQuerySchema(), location="query")
@blp.response(200, ItemListSchema)
@prebuilt
def get_hot(query: dict) -> dict:
    """The most used items in a region lately (pinned first), falling back up the hierarchy."""
    _, items = hot_items(query["region"], query["audience"], query["limit"])
    return {"items": [item.payload() for item in items]}


@blp.get("/<item_code:code>")
@versioned
@blp.response(200, GuideSchema)
@prebuilt
def get_guide(code: str) -> dict:
    """The full guide of a service item."""
    return get_service(code)


@blp.post("/<item_code:code>/visits")
@limit_by_ip("service_visits", limit=120, window_seconds=60)  # keeps the ranking honest
@blp.arguments(VisitSchema(), required=False)  # a bare beacon counts too
@blp.response(202, VisitResultSchema)
@blp.alt_response(401, schema=ErrorSchema,
                  description="a token came with the request and is invalid, expired or revoked")
def post_visit(body: dict, code: str) -> dict:
    """Record a use of an item: feeds the hot ranking and, when logged in, the recent list."""
    user = optional_user()
    record_visit(code, user, body.get("region"), body["audience"])
    db.session.commit()
    return {"status": "recorded"}
