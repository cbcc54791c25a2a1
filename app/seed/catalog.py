"""Seeds regions, service items, bundles and synonyms from their data files."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from app.catalog.upkeep import apply_item, create_bundle, create_item, put_synonym, set_bundle_items
from app.catalog.versions import bump_version
from app.extensions import db
from app.models import Bundle, Region, ServiceItem, Synonym
from app.models.catalog import REGION_LEVELS
from app.seed.themes import seed_themes


def _walk(nodes: list[dict[str, Any]], parent: str | None = None, depth: int = 0
          ) -> Iterator[tuple[str, str, str | None, str]]:
    for node in nodes:
        yield node["code"], node["name"], parent, REGION_LEVELS[depth]
        yield from _walk(node.get("children", []), node["code"], depth + 1)


def seed_regions(data: dict[str, Any]) -> int:
    existing = {r.code: r for r in db.session.scalars(sa.select(Region))}
    changed = 0
    for code, name, parent, level in _walk(data["regions"]):
        region = existing.get(code)
        if region is None:
            db.session.add(Region(code=code, name=name, parent_code=parent, level=level))
            changed += 1
        elif (region.name, region.parent_code, region.level) != (name, parent, level):
            region.name, region.parent_code, region.level = name, parent, level
            changed += 1
    db.session.flush()
    return changed


def seed_items(data: dict[str, Any]) -> int:
    existing = {i.code: i for i in db.session.scalars(sa.select(ServiceItem))}
    changed = 0
    for order, row in enumerate(data["items"]):
        fields = {k: v for k, v in row.items() if k != "complete"} | {"sort_order": order}
        item = existing.get(row["code"])
        if item is None:
            create_item(fields)
            changed += 1
        elif apply_item(item, fields):
            changed += 1
    db.session.flush()
    return changed


def seed_bundles(data: dict[str, Any]) -> int:
    existing = {b.code: b for b in db.session.scalars(sa.select(Bundle))}
    changed = 0
    for row in data["bundles"]:
        bundle = existing.get(row["code"])
        if bundle is None:
            create_bundle(row)
            changed += 1
            continue
        before = (bundle.name, bundle.audience, bundle.description, bundle.form,
                  [m.item.code for m in bundle.members])
        bundle.name, bundle.audience = row["name"], row["audience"]
        bundle.description, bundle.form = row.get("description", ""), row["form"]
        set_bundle_items(bundle, row["items"])
        if before != (bundle.name, bundle.audience, bundle.description, bundle.form,
                      [m.item.code for m in bundle.members]):
            bundle.version += 1
            changed += 1
    return changed


def seed_synonyms(data: dict[str, Any]) -> int:
    existing = {s.term: s.expansions for s in db.session.scalars(sa.select(Synonym))}
    changed = 0
    for term, expansions in data["synonyms"].items():
        if existing.get(term) != expansions:
            put_synonym(term, expansions)
            changed += 1
    return changed


def seed_catalog(load_data: Any) -> int:
    """All catalog files in dependency order; a change moves the catalog version once."""
    changed = (seed_themes(load_data("themes.json")) + seed_regions(load_data("regions.json"))
               + seed_items(load_data("services.json"))
               + seed_bundles(load_data("bundles.json"))
               + seed_synonyms(load_data("synonyms.json")))
    if changed:
        bump_version()
    return changed
