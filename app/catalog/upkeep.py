"""Writing the catalog: themes, items, bundles and synonyms, checked against each other.

Shapes and ranges are checked by the API's schemas; what needs the database (themes that
exist, codes that are free, regions and certificate types we know) is checked here, so the
seed loader and the admin API apply the same rules.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.catalog.queries import find_bundle, find_item
from app.catalog.search_index import build_search_index
from app.catalog.versions import bump_version, current_version, publish_version
from app.extensions import db
from app.models import (
    Bundle,
    BundleItem,
    CertificateType,
    Region,
    ServiceItem,
    ServiceMaterial,
    Synonym,
    Theme,
)
from app.platform.errors import Conflict, InvalidInput, NotFound
from app.platform.tasks import enqueue_optional

ITEM_FIELDS = ("name", "short_name", "department", "audience", "legal_basis", "conditions",
               "steps", "legal_limit_days", "promised_limit_days", "fee", "online_level",
               "zero_trip", "faqs", "keywords", "pinned", "sort_order", "form",
               "instant_approval")


def _themes(codes: list[str]) -> list[Theme]:
    themes = list(db.session.scalars(sa.select(Theme).where(Theme.code.in_(codes))))
    unknown = sorted(set(codes) - {t.code for t in themes})
    if unknown:
        raise InvalidInput("themes", "未知主题：" + "、".join(unknown))
    return sorted(themes, key=lambda t: codes.index(t.code))


def _check_regions(codes: list[str]) -> list[str]:
    known = set(db.session.scalars(sa.select(Region.code).where(Region.code.in_(codes))))
    unknown = sorted(set(codes) - known)
    if unknown:
        raise InvalidInput("regions", "未知行政区划：" + "、".join(unknown))
    return codes


def _check_certificate_types(rows: list[dict[str, Any]]) -> None:
    """A material can be replaced (免提交) only by a certificate type that exists."""
    named = {row["certificate_type"] for row in rows} - {None}
    if not named:
        return
    known = set(db.session.scalars(
        sa.select(CertificateType.code).where(CertificateType.code.in_(named))))
    unknown = sorted(named - known)
    if unknown:
        raise InvalidInput("materials", "未知电子证照类型：" + "、".join(unknown))


def _sync_materials(item: ServiceItem, rows: list[dict[str, Any]]) -> None:
    """Update materials in place by key: replacing them whole would insert a row before
    deleting the one it replaces, and trip the (item, key) unique constraint."""
    keys = [row["id"] for row in rows]
    if len(set(keys)) != len(keys):
        raise InvalidInput("materials", "材料编号重复")
    _check_certificate_types(rows)
    existing = {m.material_key: m for m in item.materials}
    kept = []
    for position, row in enumerate(rows):
        material = existing.get(row["id"]) or ServiceMaterial(material_key=row["id"])
        material.position, material.name = position, row["name"]
        material.required, material.copies = row["required"], row["copies"]
        material.form, material.notes = row["form"], row["notes"]
        material.certificate_type = row["certificate_type"]
        kept.append(material)
    item.materials = kept


def _material_rows(item: ServiceItem) -> list[dict[str, Any]]:
    return [{"id": m.material_key, "name": m.name, "required": m.required, "copies": m.copies,
             "form": m.form, "notes": m.notes, "certificate_type": m.certificate_type}
            for m in item.materials]


def apply_item(item: ServiceItem, data: dict[str, Any]) -> bool:
    """Set the given fields of an item; True when anything changed (its version then moves)."""
    changed = False
    for name in ITEM_FIELDS:
        if name in data and getattr(item, name) != data[name]:
            setattr(item, name, data[name])
            changed = True
    # Themes and regions are sets: compared without order, stored in their canonical order.
    if "themes" in data and {t.code for t in item.themes} != set(data["themes"]):
        item.themes = _themes(data["themes"])
        changed = True
    if "regions" in data and set(item.regions) != set(data["regions"]):
        item.set_regions(sorted(_check_regions(data["regions"])))
        changed = True
    if "materials" in data:
        wanted = [{**{"required": True, "copies": 1, "form": "original", "notes": "",
                      "certificate_type": None}, **row} for row in data["materials"]]
        if _material_rows(item) != wanted:
            _sync_materials(item, wanted)
            changed = True
    if item.promised_limit_days > item.legal_limit_days:
        raise InvalidInput("promised_limit_days", "承诺时限不能超过法定时限")
    if item.zero_trip and item.online_level != "全程网办":
        raise InvalidInput("zero_trip", "只有全程网办的事项可以零跑动")
    if changed and item.id is not None:
        item.version += 1
    return changed


def create_item(data: dict[str, Any]) -> ServiceItem:
    if db.session.scalar(sa.select(ServiceItem.id).where(ServiceItem.code == data["code"])):
        raise Conflict("事项编码已存在", errors={"code": ["已存在"]})
    item = ServiceItem(code=data["code"], item_type=data["code"][:2], themes=[], materials=[],
                       region_rows=[], keywords=[], conditions=[], steps=[], faqs=[])
    apply_item(item, {"short_name": "", "legal_basis": "", "fee": "不收费", **data})
    db.session.add(item)
    return item


def update_item(code: str, data: dict[str, Any]) -> ServiceItem | None:
    """Set the given fields of an item; the item when anything changed, None when nothing did."""
    item = find_item(code)
    return item if apply_item(item, data) else None


def remove_item(code: str) -> None:
    """Delete an item; one that a bundle (一件事) joins stays until the bundle lets it go, since
    a bundle of fewer than two items is no bundle."""
    item = find_item(code)
    bundles = sorted(db.session.scalars(
        sa.select(Bundle.code).join(BundleItem).where(BundleItem.item_id == item.id)))
    if bundles:
        raise Conflict("该事项属于一件事，请先从一件事中移除：" + "、".join(bundles),
                       error="item_in_bundle", errors={"code": bundles})
    db.session.delete(item)


def create_theme(data: dict[str, Any]) -> Theme:
    if db.session.scalar(sa.select(Theme.id).where(Theme.code == data["code"])):
        raise Conflict("主题编码已存在", errors={"code": ["已存在"]})
    theme = Theme(**data)
    db.session.add(theme)
    return theme


def find_theme(code: str) -> Theme:
    theme = db.session.scalar(sa.select(Theme).where(Theme.code == code))
    if theme is None:
        raise NotFound(f"主题不存在：{code}")
    return theme


def update_theme(code: str, data: dict[str, Any]) -> Theme:
    theme = find_theme(code)
    for name, value in data.items():
        setattr(theme, name, value)
    return theme


def remove_theme(code: str) -> None:
    """Delete a theme; its items stay, in their other themes."""
    db.session.delete(find_theme(code))


def set_bundle_items(bundle: Bundle, codes: list[str]) -> None:
    items = {i.code: i for i in db.session.scalars(
        sa.select(ServiceItem).where(ServiceItem.code.in_(codes)))}
    unknown = [c for c in codes if c not in items]
    if unknown:
        raise InvalidInput("items", "未知事项：" + "、".join(unknown))
    if len(set(codes)) != len(codes):
        raise InvalidInput("items", "事项重复")
    if [m.item.code for m in bundle.members] == codes:
        return
    existing = {m.item.code: m for m in bundle.members}  # kept in place, as for materials
    members = []
    for position, code in enumerate(codes):
        member = existing.get(code) or BundleItem(item=items[code])
        member.position = position
        members.append(member)
    bundle.members = members


def create_bundle(data: dict[str, Any]) -> Bundle:
    if db.session.scalar(sa.select(Bundle.id).where(Bundle.code == data["code"])):
        raise Conflict("一件事编码已存在", errors={"code": ["已存在"]})
    bundle = Bundle(**{k: v for k, v in data.items() if k != "items"}, members=[])
    set_bundle_items(bundle, data["items"])
    db.session.add(bundle)
    return bundle


def update_bundle(code: str, data: dict[str, Any]) -> Bundle:
    bundle = find_bundle(code)
    for name in ("name", "audience", "description", "form"):
        if name in data:
            setattr(bundle, name, data[name])
    if "items" in data:
        set_bundle_items(bundle, data["items"])
    bundle.version += 1
    return bundle


def remove_bundle(code: str) -> None:
    """Delete a bundle; its items stay."""
    db.session.delete(find_bundle(code))


def list_synonyms() -> list[Synonym]:
    return list(db.session.scalars(sa.select(Synonym).order_by(Synonym.term)))


def _find_synonym(term: str) -> Synonym | None:
    return db.session.scalar(sa.select(Synonym).where(Synonym.term == term))


def put_synonym(term: str, expansions: list[str]) -> Synonym:
    """Set what a colloquial term stands for (e.g. 驾照 → 机动车驾驶证)."""
    if not 1 <= len(term) <= 32:
        raise InvalidInput("term", "词语长度应为 1–32 个字符", ["length"])
    synonym = _find_synonym(term)
    if synonym is None:
        synonym = Synonym(term=term, expansions=expansions)
        db.session.add(synonym)
    else:
        synonym.expansions = expansions
    return synonym


def remove_synonym(term: str) -> None:
    synonym = _find_synonym(term)
    if synonym is None:
        raise NotFound("同义词不存在")
    db.session.delete(synonym)


def commit_catalog_change() -> int:
    """Commit an edit with a new catalog version, make every worker see it, prepare search."""
    bump_version()
    db.session.commit()
    publish_version()
    version = current_version()
    # The edit stands (2xx) even when the broker cannot take the build: the first search of
    # the new version builds its index (search_index.current_index), only a little later.
    enqueue_optional(build_search_index, version)
    return version
