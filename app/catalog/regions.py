"""Region codes as the catalog sees them: the codes of its region table, and stored codes."""

from __future__ import annotations

from app.catalog.snapshot import catalog_snapshot
from app.privacy.identifiers import InvalidIdentifier, parse_region_code


def is_known_region(code: str) -> bool:
    """Whether the region table holds `code` (from the per-process catalog snapshot)."""
    return code in catalog_snapshot().region_names


def placeable_region(code: str | None) -> str | None:
    """A stored region code (a user's, from their ID number) when the catalog can place it in
    the hierarchy, else None.

    ID numbers keep the code of where they were issued, which may since have been renamed or
    never have fitted the hierarchy (a county directly under a province, `530012`); such a code
    must not fail a page, so it is treated as no region at all.
    """
    if code is None:
        return None
    try:
        return parse_region_code(code)
    except InvalidIdentifier:
        return None
