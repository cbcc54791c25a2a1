"""Path parameters: how each kind is matched, and how the OpenAPI document states it.

Row ids have one converter (`<id:certificate_id>`): ASCII digits naming 1 … 2⁶³−1, so that "²",
full-width digits or a number the database cannot hold match no route (404) instead of failing
deep down. The other kinds match any segment, as Flask's default does, and are checked by the
domain, which names the field; their converters only let the document state their rule.
"""

from __future__ import annotations

from typing import Any, ClassVar

from werkzeug.routing import BaseConverter, ValidationError

from app.api.validators import (
    BUNDLE_CODE_PATTERN,
    ITEM_CODE,
    TAG_DEFINITION_PATTERN,
    TAG_NAME_EXAMPLE,
    TAG_NAME_PATTERN,
    THEME_CODE_PATTERN,
    USCC,
    DocumentedRule,
)
from app.platform.orm import MAX_ROW_ID, ROW_ID_PATTERN, parse_row_id


class IdConverter(BaseConverter):
    """A row id; anything else is not a path of the API."""

    regex = ROW_ID_PATTERN.pattern
    weight = 50  # as werkzeug's own number converters: tried before free text
    openapi: ClassVar[dict[str, Any]] = {
        "type": "integer", "format": "int64", "minimum": 1, "maximum": MAX_ROW_ID,
        "description": "an id as the API returns it: ASCII digits without leading zeros",
        "example": 1}

    def to_python(self, value: str) -> int:
        row_id = parse_row_id(value)
        if row_id is None:
            raise ValidationError()
        return row_id

    def to_url(self, value: Any) -> str:
        return str(int(value))


class DocumentedConverter(BaseConverter):
    """Matches a segment like Flask's default; `openapi` is what the document says of it."""

    openapi: ClassVar[dict[str, Any]] = {"type": "string"}


def _documented(name: str, rule: DocumentedRule | None = None, **schema: Any
                ) -> type[DocumentedConverter]:
    stated = {"pattern": rule.regex.pattern, **rule.openapi} if rule else {}
    return type(name, (DocumentedConverter,), {"openapi": {"type": "string", **stated, **schema}})


PATH_CONVERTERS: dict[str, type[BaseConverter]] = {
    "id": IdConverter,
    "uscc": _documented("UsccConverter", USCC),
    "item_code": _documented("ItemCodeConverter", ITEM_CODE),
    "bundle_code": _documented("BundleCodeConverter", pattern=BUNDLE_CODE_PATTERN,
                               example="B001"),
    "theme_code": _documented("ThemeCodeConverter", pattern=THEME_CODE_PATTERN,
                              example="social_security"),
    "term": _documented("TermConverter", minLength=1, maxLength=32, example="驾照"),
    "case_no": _documented("CaseNoConverter", pattern=r"^[0-9]{10,24}$",
                           example="53202611250000001",
                           description="province, China date and serial"),
    "certificate_ref": _documented(
        "CertificateRefConverter", example="1",
        description="a certificate's id, or its GB/T 36904 identifier"),
    "upload_id": _documented("UploadIdConverter", pattern=r"^[0-9a-f]{32}$",
                             example="0123456789abcdef0123456789abcdef",
                             description="as POST /uploads returned it"),
    "tag": _documented("TagConverter", pattern=TAG_NAME_PATTERN, maxLength=64,
                       example=TAG_NAME_EXAMPLE, description="a tag: namespace:name"),
    "tag_definition": _documented(
        "TagDefinitionConverter", pattern=TAG_DEFINITION_PATTERN, maxLength=64,
        example=TAG_NAME_EXAMPLE,
        description="a manual tag's name, or a computed family's namespace (`region`)"),
    "material_key": _documented("MaterialKeyConverter", minLength=1, maxLength=16,
                                example="m1", description="a material's id in the guide"),
}


def converter_schema(converter: BaseConverter) -> dict[str, Any]:
    """What the OpenAPI document says of a path parameter matched by `converter`."""
    return dict(converter.openapi)  # type: ignore[attr-defined]
