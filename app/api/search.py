"""Search over items, bundles and FAQs."""

from __future__ import annotations

import marshmallow as ma

from app.api.http_cache import versioned
from app.api.request_bodies import Blueprint
from app.api.schemas import RequestSchema
from app.api.validators import REGION_CODE
from app.catalog.search_index import current_index
from app.search import MAX_QUERY_LENGTH

blp = Blueprint("search", __name__, url_prefix="/api/v1/search",
                description="Chinese, pinyin, initials and synonyms")


class SearchQuerySchema(RequestSchema):
    q = ma.fields.String(load_default="", validate=ma.validate.Length(max=MAX_QUERY_LENGTH))
    region = ma.fields.String(validate=REGION_CODE)
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=50))


class SearchHitSchema(ma.Schema):
    kind = ma.fields.String(metadata={"description": "item, bundle or faq"})
    key = ma.fields.String(metadata={"description": "item code, bundle code, or CODE#faqN"})
    title = ma.fields.String()
    matched = ma.fields.String(metadata={"description": "which field or form matched"})
    score = ma.fields.Float()


class SearchResultSchema(ma.Schema):
    q = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(SearchHitSchema))
    bundles = ma.fields.List(ma.fields.Nested(SearchHitSchema))
    faqs = ma.fields.List(ma.fields.Nested(SearchHitSchema))


@blp.get("")
@versioned
@blp.arguments(SearchQuerySchema(), location="query")
@blp.response(200, SearchResultSchema)
def get_search(query: dict) -> dict:
    """Search; an empty or meaningless query answers an empty result, not an error."""
    hits = current_index().search(query["q"], region=query.get("region"),
                                  limit=query["limit"])
    grouped: dict[str, list] = {"item": [], "bundle": [], "faq": []}
    for hit in hits:
        grouped[hit.kind].append(hit)
    return {"q": query["q"], "items": grouped["item"], "bundles": grouped["bundle"],
            "faqs": grouped["faq"]}
