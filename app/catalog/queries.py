"""Read queries over the catalog, keyed by catalog version so an edit shows everywhere at once."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.catalog.snapshot import catalog_snapshot, region_scope
from app.catalog.versions import current_version
from app.extensions import db
from app.models import Bundle, ServiceItem
from app.platform.caches import cached_json
from app.platform.errors import NotFound
from app.platform.pages import Page
from app.privacy.identifiers import SERVICE_ITEM_TYPES


def _not_found(what: str, code: str) -> NotFound:
    return NotFound(f"{what}不存在：{code}", errors={"code": ["not found"]})


def list_themes(audience: str | None = None) -> list[dict[str, Any]]:
    """Themes for an audience (`both` themes appear under either), with their item counts."""
    snapshot = catalog_snapshot()
    counts = snapshot.theme_counts.get(audience, {})
    return [{**theme, "item_count": counts.get(theme["code"], 0)} for theme in snapshot.themes
            if audience is None or theme["audience"] in (audience, "both")]


def list_services(*, theme: str | None, audience: str | None, region: str | None,
                  online_level: str | None, page: int, per_page: int) -> Page:
    """One page of item summaries in curated order, filtered."""
    snapshot = catalog_snapshot()
    scope = region_scope(region)
    matching = [s for s in snapshot.ordered(snapshot.curated)
                if s.serves(audience) and s.available_in(scope)
                and (theme is None or theme in s.themes)
                and (online_level is None or s.online_level == online_level)]
    start = (page - 1) * per_page
    return Page([s.payload() for s in matching[start:start + per_page]], page, per_page,
                len(matching))


def _guide(item: ServiceItem, region_names: dict[str, str]) -> dict[str, Any]:
    themes = [{"code": t.code, "name": t.name} for t in item.themes]
    return {
        "code": item.code, "name": item.name, "short_name": item.short_name,
        "item_type": item.item_type, "item_type_name": SERVICE_ITEM_TYPES.get(item.item_type, ""),
        "department": item.department, "audience": item.audience,
        "theme": themes[0] if themes else None, "themes": themes,
        "legal_basis": item.legal_basis, "conditions": item.conditions,
        "materials": [{"id": m.material_key, "name": m.name, "required": m.required,
                       "copies": m.copies, "form": m.form, "notes": m.notes,
                       "certificate_type": m.certificate_type} for m in item.materials],
        "steps": item.steps, "legal_limit_days": item.legal_limit_days,
        "promised_limit_days": item.promised_limit_days, "fee": item.fee,
        "online_level": item.online_level, "zero_trip": item.zero_trip,
        "regions": [{"code": c, "name": region_names.get(c, "")} for c in item.regions],
        "faqs": item.faqs, "keywords": item.keywords, "version": item.version,
        "form": item.form or {"fields": []}, "instant_approval": bool(item.instant_approval),
        "updated_at": item.updated_at.isoformat(),
    }


def find_item(code: str) -> ServiceItem:
    item = db.session.scalar(sa.select(ServiceItem).where(ServiceItem.code == code))
    if item is None:
        raise _not_found("事项", code)
    return item


def get_service(code: str) -> dict[str, Any]:
    """The full guide (办事指南) of an item."""
    snapshot = catalog_snapshot()
    if code not in snapshot.items:
        raise _not_found("事项", code)
    return cached_json("catalog", f"{snapshot.version}:item:{code}",
                       lambda: _guide(find_item(code), snapshot.region_names))


def merged_materials(bundle: Bundle) -> list[dict[str, Any]]:
    """One list for the whole bundle: a material several members ask for is asked once."""
    merged: dict[str, dict[str, Any]] = {}
    for member in bundle.members:
        for material in member.item.materials:
            key = material.certificate_type or material.name.strip()
            entry = merged.get(key)
            if entry is None:
                entry = merged[key] = {
                    "id": f"b{len(merged) + 1}", "name": material.name,
                    "required": False, "certificate_type": material.certificate_type,
                    "copies": material.copies, "for_items": []}
            entry["required"] = entry["required"] or material.required
            entry["copies"] = max(entry["copies"], material.copies)
            if member.item.code not in entry["for_items"]:
                entry["for_items"].append(member.item.code)
    return list(merged.values())


def _bundle_summary(bundle: Bundle) -> dict[str, Any]:
    return {"code": bundle.code, "name": bundle.name, "audience": bundle.audience,
            "description": bundle.description, "item_count": len(bundle.members)}


def list_bundles(audience: str | None = None) -> list[dict[str, Any]]:
    def load() -> list[dict[str, Any]]:
        query = sa.select(Bundle).order_by(Bundle.code)
        if audience:
            query = query.where(Bundle.audience.in_([audience, "both"]))
        return [_bundle_summary(b) for b in db.session.scalars(query)]

    return cached_json("catalog", f"{current_version()}:bundles:{audience or 'all'}", load)


def find_bundle(code: str) -> Bundle:
    bundle = db.session.scalar(sa.select(Bundle).where(Bundle.code == code))
    if bundle is None:
        raise _not_found("一件事", code)
    return bundle


def get_bundle(code: str) -> dict[str, Any]:
    """A bundle with its member items, one merged material list and its one form."""

    def load() -> dict[str, Any]:
        bundle = find_bundle(code)
        return {**_bundle_summary(bundle),
                "items": [{"code": m.item.code, "name": m.item.name,
                           "department": m.item.department,
                           "promised_limit_days": m.item.promised_limit_days}
                          for m in bundle.members],
                "materials": merged_materials(bundle), "form": bundle.form}

    return cached_json("catalog", f"{current_version()}:bundle:{code}", load)
