"""Schemas the catalog resources share."""

from __future__ import annotations

import marshmallow as ma

from app.api.schemas import PageSchema
from app.models.catalog import ITEM_AUDIENCES, ONLINE_LEVELS


class ItemSummarySchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    short_name = ma.fields.String()
    department = ma.fields.String()
    audience = ma.fields.String()
    themes = ma.fields.List(ma.fields.String())
    online_level = ma.fields.String()
    zero_trip = ma.fields.Boolean()
    promised_limit_days = ma.fields.Integer()


class RecommendedItemSchema(ItemSummarySchema):
    reason = ma.fields.String(metadata={"description": "why this is recommended, for people"})
    rule = ma.fields.String()


class ItemListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ItemSummarySchema))


class ItemPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(ItemSummarySchema))


class CodeNameSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()


class MaterialSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()
    required = ma.fields.Boolean()
    copies = ma.fields.Integer()
    form = ma.fields.String()
    notes = ma.fields.String()
    certificate_type = ma.fields.String(allow_none=True,
                                        metadata={"description": "e-certificate that replaces it"})


class GuideSchema(ma.Schema):
    """The full guide (办事指南) of a service item."""

    code = ma.fields.String()
    name = ma.fields.String()
    short_name = ma.fields.String()
    item_type = ma.fields.String()
    item_type_name = ma.fields.String()
    department = ma.fields.String()
    audience = ma.fields.String(metadata={"enum": list(ITEM_AUDIENCES)})
    theme = ma.fields.Nested(CodeNameSchema, allow_none=True)
    themes = ma.fields.List(ma.fields.Nested(CodeNameSchema))
    legal_basis = ma.fields.String()
    conditions = ma.fields.List(ma.fields.String())
    materials = ma.fields.List(ma.fields.Nested(MaterialSchema))
    steps = ma.fields.List(ma.fields.Dict())
    legal_limit_days = ma.fields.Integer()
    promised_limit_days = ma.fields.Integer()
    fee = ma.fields.String()
    online_level = ma.fields.String(metadata={"enum": list(ONLINE_LEVELS)})
    zero_trip = ma.fields.Boolean()
    regions = ma.fields.List(ma.fields.Nested(CodeNameSchema))
    faqs = ma.fields.List(ma.fields.Dict())
    keywords = ma.fields.List(ma.fields.String())
    form = ma.fields.Dict(metadata={"description": "the application form: {fields: [...]}"})
    instant_approval = ma.fields.Boolean(metadata={
        "description": "approved at submission when the applicant's data proves it (秒批)"})
    version = ma.fields.Integer()
    updated_at = ma.fields.String()
