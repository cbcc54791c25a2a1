"""Catalog upkeep for `catalog_admin`: themes, service items, bundles and search synonyms.

Every change is audit-logged, moves the catalog version (so caches and search follow at once)
and is refused with the field named when it is invalid.
"""

from __future__ import annotations

import functools

import marshmallow as ma
from flask_jwt_extended import current_user

from app.api.bundles import BundleSchema
from app.api.catalog_schemas import GuideSchema
from app.api.docs import ErrorSchema
from app.api.permissions import roles_required
from app.api.request_bodies import Blueprint
from app.api.schemas import RequestSchema
from app.api.validators import BUNDLE_CODE_PATTERN, ITEM_CODE, REGION_CODE, THEME_CODE_PATTERN
from app.cases.forms import FIELD_TYPES
from app.cases.instant import CONDITION_KINDS, check_rule
from app.catalog.queries import get_bundle, get_service
from app.catalog.upkeep import (
    commit_catalog_change,
    create_bundle,
    create_item,
    create_theme,
    list_synonyms,
    put_synonym,
    remove_bundle,
    remove_item,
    remove_synonym,
    remove_theme,
    update_bundle,
    update_item,
    update_theme,
)
from app.models import Synonym, Theme
from app.models.catalog import ITEM_AUDIENCES, MATERIAL_FORMS, ONLINE_LEVELS
from app.platform import audit
from app.platform.errors import InvalidInput

blp = Blueprint("catalog_admin", __name__, url_prefix="/api/v1/admin",
                description="Catalog upkeep (catalog_admin)")

Str = ma.fields.String
Length = ma.validate.Length
# Strict: 1.5, "1" and true are refused, not truncated or read as integers.
Int = functools.partial(ma.fields.Integer, strict=True)


class MaterialInSchema(RequestSchema):
    id = Str(required=True, validate=Length(min=1, max=16))
    name = Str(required=True, validate=Length(min=1, max=128))
    required = ma.fields.Boolean(load_default=True)
    copies = Int(load_default=1, validate=ma.validate.Range(min=0, max=20))
    form = Str(load_default="original", validate=ma.validate.OneOf(MATERIAL_FORMS))
    notes = Str(load_default="", validate=Length(max=500))
    certificate_type = Str(load_default=None, allow_none=True, validate=Length(max=48))


class StepInSchema(RequestSchema):
    name = Str(required=True, validate=Length(min=1, max=64))
    description = Str(load_default="", validate=Length(max=1000))


class FaqInSchema(RequestSchema):
    question = Str(required=True, validate=Length(min=1, max=200))
    answer = Str(required=True, validate=Length(min=1, max=2000))


class ItemInSchema(RequestSchema):
    """A service item as admins write it; PATCH takes any subset (without the code)."""

    code = Str(required=True, validate=ITEM_CODE)
    name = Str(required=True, validate=Length(min=2, max=128),
               metadata={"example": "社会保障卡申领"})
    short_name = Str(validate=Length(max=64))
    department = Str(required=True, validate=Length(min=2, max=128),
                     metadata={"example": "云南省人力资源和社会保障厅"})
    audience = Str(required=True, validate=ma.validate.OneOf(ITEM_AUDIENCES))
    themes = ma.fields.List(Str(), required=True, validate=Length(min=1, max=5),
                            metadata={"description": "codes of existing themes",
                                      "example": ["social_security"]})
    regions = ma.fields.List(Str(validate=REGION_CODE), required=True,
                             validate=Length(min=1, max=200))
    legal_basis = Str(validate=Length(max=5000))
    conditions = ma.fields.List(Str(validate=Length(max=500)), validate=Length(max=30))
    materials = ma.fields.List(ma.fields.Nested(MaterialInSchema), validate=Length(max=50))
    steps = ma.fields.List(ma.fields.Nested(StepInSchema), validate=Length(max=30))
    legal_limit_days = Int(required=True, validate=ma.validate.Range(min=0, max=365))
    promised_limit_days = Int(required=True, validate=ma.validate.Range(min=0, max=365),
                              metadata={"description": "at most legal_limit_days"})
    fee = Str(validate=Length(max=255))
    online_level = Str(required=True, validate=ma.validate.OneOf(ONLINE_LEVELS))
    zero_trip = ma.fields.Boolean()
    faqs = ma.fields.List(ma.fields.Nested(FaqInSchema), validate=Length(max=50))
    keywords = ma.fields.List(Str(validate=Length(min=1, max=32)), validate=Length(max=30))
    pinned = ma.fields.Boolean()
    sort_order = Int(validate=ma.validate.Range(min=0, max=1_000_000))
    form = ma.fields.Nested("FormInSchema", metadata={
        "description": "the application form the mini program renders and POST /cases checks"})
    instant_approval = ma.fields.Nested("InstantRuleInSchema", allow_none=True, metadata={
        "description": "秒批: approve at submission when the applicant's data proves every"
                       " condition; null: the normal queue"})

    @ma.validates_schema
    def known_certificate_types(self, data: dict, **kwargs) -> None:
        try:
            check_rule(data.get("instant_approval"))
        except InvalidInput as exc:
            raise ma.ValidationError(exc.message, "instant_approval") from None

    @ma.validates_schema
    def promised_within_legal(self, data: dict, **kwargs) -> None:
        promised, legal = data.get("promised_limit_days"), data.get("legal_limit_days")
        if promised is not None and legal is not None and promised > legal:
            raise ma.ValidationError("承诺时限不能超过法定时限", "promised_limit_days")


class ThemeInSchema(RequestSchema):
    code = Str(required=True, validate=ma.validate.Regexp(THEME_CODE_PATTERN),
               metadata={"example": "elderly_care"})
    name = Str(required=True, validate=Length(min=2, max=64), metadata={"example": "养老服务"})
    audience = Str(validate=ma.validate.OneOf(ITEM_AUDIENCES))
    description = Str(validate=Length(max=255))
    icon = Str(validate=Length(max=64))
    sort_order = Int(validate=ma.validate.Range(min=0, max=10_000))


class FormFieldInSchema(RequestSchema):
    name = Str(required=True, validate=ma.validate.Regexp(r"^[a-z][a-z0-9_]{0,47}$"),
               metadata={"example": "applicant_name"})
    label = Str(required=True, validate=Length(min=1, max=64), metadata={"example": "申请人姓名"})
    type = Str(required=True, validate=ma.validate.OneOf(FIELD_TYPES))
    required = ma.fields.Boolean(load_default=False)
    options = ma.fields.List(Str(validate=Length(max=64)), validate=Length(max=50))


class FormInSchema(RequestSchema):
    fields = ma.fields.List(ma.fields.Nested(FormFieldInSchema), required=True,
                            validate=Length(min=1, max=60))


class ConditionInSchema(RequestSchema):
    kind = Str(required=True, validate=ma.validate.OneOf(CONDITION_KINDS))
    label = Str(validate=Length(min=1, max=64), metadata={"example": "年满60周岁"})
    min = Int(validate=ma.validate.Range(min=0, max=150),
              metadata={"description": "age: at least this many years old"})
    within = Str(validate=ma.validate.Regexp(r"^[0-9]{2,6}$"),
                 metadata={"description": "region: a region code prefix", "example": "53"})
    type = Str(validate=Length(min=1, max=48),
               metadata={"description": "certificate: its type code", "example": "id_card"})
    field = Str(validate=Length(min=1, max=48))
    any_of = ma.fields.List(Str(validate=Length(min=1, max=32)), validate=Length(min=1, max=20))

    @ma.validates_schema
    def complete(self, data: dict, **kwargs) -> None:
        needed = {"age": "min", "region": "within", "certificate": "type"}[data["kind"]]
        if needed not in data:
            raise ma.ValidationError(f"{data['kind']} 条件须给出 {needed}", needed)


class InstantRuleInSchema(RequestSchema):
    conditions = ma.fields.List(ma.fields.Nested(ConditionInSchema), required=True,
                                validate=Length(min=1, max=10))
    result_certificate_type = Str(load_default=None, allow_none=True, validate=Length(max=48),
                                  metadata={"description": "the certificate issued on approval"})


class BundleInSchema(RequestSchema):
    code = Str(required=True, validate=ma.validate.Regexp(BUNDLE_CODE_PATTERN),
               metadata={"example": "B001"})
    name = Str(required=True, validate=Length(min=2, max=128), metadata={"example": "开办企业"})
    audience = Str(required=True, validate=ma.validate.OneOf(ITEM_AUDIENCES))
    description = Str(validate=Length(max=500))
    items = ma.fields.List(Str(validate=ITEM_CODE), required=True,
                           validate=Length(min=2, max=30),
                           metadata={"description": "codes of existing items",
                                     "example": ["GF00001001", "GF00001002"]})
    form = ma.fields.Nested(FormInSchema, required=True)


class SynonymInSchema(RequestSchema):
    expansions = ma.fields.List(Str(validate=Length(min=1, max=32)), required=True,
                                validate=Length(min=1, max=10),
                                metadata={"example": ["机动车驾驶证"]})


class SynonymOutSchema(ma.Schema):
    term = Str()
    expansions = ma.fields.List(Str())


class SynonymListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(SynonymOutSchema))


class ThemeOutSchema(ma.Schema):
    code = Str()
    name = Str()
    audience = Str()
    description = Str()
    icon = Str()
    sort_order = ma.fields.Integer()


def _commit(action: str, target_type: str, target_id: str, details: dict | None = None) -> None:
    """Audit the edit and commit it under a new catalog version, in one step for every view."""
    audit.record(action, actor=current_user, target_type=target_type, target_id=target_id,
                 details=details or {})
    commit_catalog_change()


@blp.post("/themes")
@roles_required("catalog_admin")
@blp.arguments(ThemeInSchema())
@blp.response(201, ThemeOutSchema)
@blp.alt_response(409, schema=ErrorSchema, description="a theme with that code exists")
def post_theme(body: dict) -> Theme:
    """Create a theme."""
    theme = create_theme(body)
    _commit("catalog.theme_created", "theme", body["code"])
    return theme


@blp.patch("/themes/<theme_code:code>")
@roles_required("catalog_admin")
@blp.arguments(ThemeInSchema(partial=True, exclude=("code",)))
@blp.response(200, ThemeOutSchema)
def patch_theme(body: dict, code: str) -> Theme:
    """Edit a theme."""
    theme = update_theme(code, body)
    _commit("catalog.theme_updated", "theme", code, {"fields": sorted(body)})
    return theme


@blp.delete("/themes/<theme_code:code>")
@roles_required("catalog_admin")
@blp.response(204)
def delete_theme(code: str) -> None:
    """Delete a theme (its items stay, in their other themes)."""
    remove_theme(code)
    _commit("catalog.theme_deleted", "theme", code)


@blp.post("/services")
@roles_required("catalog_admin")
@blp.arguments(ItemInSchema())
@blp.response(201, GuideSchema)
@blp.alt_response(409, schema=ErrorSchema, description="an item with that code exists")
def post_service(body: dict) -> dict:
    """Create a service item with its guide."""
    create_item(body)
    _commit("catalog.item_created", "service_item", body["code"])
    return get_service(body["code"])


@blp.patch("/services/<item_code:code>")
@roles_required("catalog_admin")
@blp.arguments(ItemInSchema(partial=True, exclude=("code",)))
@blp.response(200, GuideSchema)
def patch_service(body: dict, code: str) -> dict:
    """Edit any part of an item's guide; the change shows at once in guides and search."""
    item = update_item(code, body)
    if item is not None:  # an edit that changes nothing is neither versioned nor audited
        _commit("catalog.item_updated", "service_item", code,
                {"fields": sorted(body), "version": item.version})
    return get_service(code)


@blp.delete("/services/<item_code:code>")
@roles_required("catalog_admin")
@blp.response(204)
@blp.alt_response(409, schema=ErrorSchema, description="the item belongs to a bundle")
def delete_service(code: str) -> None:
    """Delete a service item."""
    remove_item(code)
    _commit("catalog.item_deleted", "service_item", code)


@blp.post("/bundles")
@roles_required("catalog_admin")
@blp.arguments(BundleInSchema())
@blp.response(201, BundleSchema)
@blp.alt_response(409, schema=ErrorSchema, description="a bundle with that code exists")
def post_bundle(body: dict) -> dict:
    """Create a bundle of items with one form."""
    create_bundle(body)
    _commit("catalog.bundle_created", "bundle", body["code"])
    return get_bundle(body["code"])


@blp.patch("/bundles/<bundle_code:code>")
@roles_required("catalog_admin")
@blp.arguments(BundleInSchema(partial=True, exclude=("code",)))
@blp.response(200, BundleSchema)
def patch_bundle(body: dict, code: str) -> dict:
    """Edit a bundle."""
    update_bundle(code, body)
    _commit("catalog.bundle_updated", "bundle", code, {"fields": sorted(body)})
    return get_bundle(code)


@blp.delete("/bundles/<bundle_code:code>")
@roles_required("catalog_admin")
@blp.response(204)
def delete_bundle(code: str) -> None:
    """Delete a bundle (its items stay)."""
    remove_bundle(code)
    _commit("catalog.bundle_deleted", "bundle", code)


@blp.get("/synonyms")
@roles_required("catalog_admin")
@blp.response(200, SynonymListSchema)
def get_synonyms() -> dict:
    """The search synonym table."""
    return {"items": list_synonyms()}


@blp.put("/synonyms/<term:term>")
@roles_required("catalog_admin")
@blp.arguments(SynonymInSchema())
@blp.response(200, SynonymOutSchema)
def put_synonym_term(body: dict, term: str) -> Synonym:
    """Set what a colloquial term stands for (e.g. 驾照 → 机动车驾驶证)."""
    synonym = put_synonym(term, body["expansions"])
    _commit("catalog.synonym_set", "synonym", term, {"expansions": body["expansions"]})
    return synonym


@blp.delete("/synonyms/<term:term>")
@roles_required("catalog_admin")
@blp.response(204)
def delete_synonym(term: str) -> None:
    """Remove a synonym."""
    remove_synonym(term)
    _commit("catalog.synonym_deleted", "synonym", term)
