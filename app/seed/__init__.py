"""Demo data for `flask seed-demo`: idempotent, so running it again changes nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from typing import Any

from flask import current_app

from app.catalog.versions import publish_version
from app.extensions import db
from app.identity.admin_accounts import ensure_admin
from app.models.admin import ADMIN_ROLES
from app.seed.cases import seed_cases
from app.seed.catalog import seed_catalog
from app.seed.certificates import seed_certificate_types, seed_certificates
from app.seed.identity import seed_identity
from app.seed.push import seed_push_rules
from app.seed.tags import seed_tags


def load_data(name: str) -> Any:
    """A versioned demo data file shipped in `app/seed/data/`."""
    return json.loads(resources.files("app.seed").joinpath("data", name).read_text("utf-8"))


def seed_admins() -> int:
    password = current_app.config["DEMO_ADMIN_PASSWORD"]
    changed = ensure_admin("admin", password, list(ADMIN_ROLES), display_name="演示管理员")
    changed += ensure_admin("approver", password, ["push_approver"], display_name="推送审核员")
    return changed


# Certificate types come before the catalog, whose materials name them (免提交); cases come
# after them, filed by the demo people with their certificates; tags after them, computed from
# all; push rules last, their first runs reaching the tagged people.
SEEDERS: list[tuple[str, Callable[[], int]]] = [
    ("admin accounts", seed_admins),
    ("people, enterprises and verifier", seed_identity),
    ("certificate types", lambda: seed_certificate_types(load_data("certificate_types.json"))),
    ("catalog", lambda: seed_catalog(load_data)),
    ("certificates", lambda: seed_certificates(load_data("certificate_holdings.json"))),
    ("cases", seed_cases),
    ("tags", seed_tags),
    ("push rules", seed_push_rules),
]


def seed_demo() -> dict[str, int]:
    """Run every seeder in order and commit once; returns how many rows each changed."""
    changes = {name: seeder() for name, seeder in SEEDERS}
    db.session.commit()
    publish_version()
    if changes.get("catalog"):
        from app.catalog.search_index import build_search_index
        from app.catalog.versions import current_version

        build_search_index.delay(current_version())
    return changes
