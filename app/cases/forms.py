"""Application forms: a service item's or bundle's form definition, and filled forms checked
against it.

A definition is `{"fields": [{"name", "label", "type", "required", "options"?}]}`; the types
are those a mini program can render. A filled form names only defined fields, every required
one, each in its type's shape; errors name the field as `form.<name>`.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from app.catalog.regions import is_known_region
from app.platform.errors import InvalidInput
from app.privacy.identifiers import InvalidIdentifier, normalize_phone, parse_id_number
from app.privacy.masking import mask_id_number, mask_phone

FIELD_TYPES = ("text", "textarea", "select", "number", "date", "id_number", "phone", "region",
               "boolean")
# The types whose values are personal data: kept encrypted, shown masked.
SENSITIVE_TYPES = ("id_number", "phone")
MAX_TEXT = {"text": 200, "textarea": 2000}
MAX_FIELDS = 100


def fields_of(definition: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list((definition or {}).get("fields") or [])


def _invalid(name: str, message: str) -> InvalidInput:
    return InvalidInput(f"form.{name}", message)


def _check_value(spec: dict[str, Any], value: Any) -> Any:
    name, kind, label = spec["name"], spec.get("type", "text"), spec.get("label", spec["name"])
    if kind in MAX_TEXT:
        if not isinstance(value, str):
            raise _invalid(name, f"{label}应为文本")
        value = value.strip()
        if len(value) > MAX_TEXT[kind]:
            raise _invalid(name, f"{label}不能超过{MAX_TEXT[kind]}个字")
        return value
    if kind == "select":
        if value not in (spec.get("options") or []):
            raise _invalid(name, f"{label}只能从给定选项中选择")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
                value):
            raise _invalid(name, f"{label}应为数字")
        if value < 0 or value > 1e12:
            raise _invalid(name, f"{label}超出范围")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _invalid(name, f"{label}应为是或否")
        return value
    if not isinstance(value, str):
        raise _invalid(name, f"{label}格式错误")
    if kind == "date":
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise _invalid(name, f"{label}应为日期，如 2026-01-31") from None
    try:
        if kind == "id_number":
            return parse_id_number(value).number
        if kind == "phone":
            return normalize_phone(value)
    except InvalidIdentifier as exc:
        raise _invalid(name, exc.message) from None
    if kind == "region":
        if not is_known_region(value):
            raise _invalid(name, f"{label}不是已知的行政区划代码")
        return value
    raise _invalid(name, f"{label}的类型无法识别")


def check_form(definition: dict[str, Any] | None, filled: dict[str, Any]) -> dict[str, Any]:
    """The filled form, normalized; InvalidInput naming the first field that breaks a rule."""
    specs = {spec["name"]: spec for spec in fields_of(definition)}
    if len(filled) > MAX_FIELDS:
        raise InvalidInput("form", f"表单字段不能超过{MAX_FIELDS}个")
    unknown = sorted(set(filled) - set(specs))
    if unknown:
        raise InvalidInput("form", "表单中有未定义的字段：" + "、".join(unknown[:10]),
                           unknown[:10])
    checked: dict[str, Any] = {}
    for name, spec in specs.items():
        value = filled.get(name)
        # Checked first: text of blanks only is stripped to nothing, which fills no field.
        value = None if value is None or value == "" else _check_value(spec, value)
        if value is None or value == "":
            if spec.get("required"):
                raise _invalid(name, f"请填写{spec.get('label', name)}")
            continue
        checked[name] = value
    return checked


def masked_form(definition: dict[str, Any] | None, form: dict[str, Any]) -> list[dict[str, Any]]:
    """The filled form as a screen may show it: labels, and personal numbers masked."""
    masks = {"id_number": mask_id_number, "phone": mask_phone}
    shown = []
    for spec in fields_of(definition):
        if spec["name"] not in form:
            continue
        value = form[spec["name"]]
        mask = masks.get(spec.get("type", ""))
        shown.append({"name": spec["name"], "label": spec.get("label", spec["name"]),
                      "value": mask(value) if mask else value})
    return shown
