"""Recommendations for the home page from a user's profile, each with the reason it was made."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

from app.catalog.regions import placeable_region
from app.catalog.snapshot import CatalogSnapshot, region_scope
from app.identity.enterprises import bindings_of, is_active
from app.models import User
from app.platform.clock import age_on, today_in_china

MAX_RECOMMENDED = 8
# Product configuration shipped with the package (setup.cfg's package_data), not demo data.
RULES_FILE = "recommendation_rules.json"


@dataclass(frozen=True)
class Profile:
    """The facts recommendation rules look at."""
    age: int | None
    gender: str | None
    region: str | None
    enterprise_relations: frozenset[str]
    enterprise_industries: frozenset[str]


def profile_of(user: User, today: date | None = None) -> Profile:
    today = today or today_in_china()
    active = [b for b in bindings_of(user) if is_active(b)]
    return Profile(
        age=age_on(user.birth_date, today) if user.birth_date else None,
        gender=user.gender, region=placeable_region(user.region_code),
        enterprise_relations=frozenset(b.relation for b in active),
        enterprise_industries=frozenset(b.enterprise.industry for b in active))


def matches(when: dict[str, Any], profile: Profile) -> bool:
    """Whether every condition of a rule holds for the profile."""
    checks = {
        "age_min": lambda v: profile.age is not None and profile.age >= v,
        "age_max": lambda v: profile.age is not None and profile.age <= v,
        "gender": lambda v: profile.gender == v,
        "region_prefix": lambda v: (profile.region or "").startswith(v),
        "enterprise_relation": lambda v: v in profile.enterprise_relations,
        "enterprise_industry": lambda v: v in profile.enterprise_industries,
        "has_enterprise": lambda v: bool(profile.enterprise_relations) == v,
    }
    return all(checks[name](value) for name, value in when.items() if name in checks)


@functools.cache
def rules() -> tuple[dict[str, Any], ...]:
    """The recommendation rules, read once per process from their file in this package."""
    text = resources.files("app.catalog").joinpath(RULES_FILE).read_text("utf-8")
    return tuple(json.loads(text)["rules"])


def recommend(snapshot: CatalogSnapshot, profile: Profile, limit: int = MAX_RECOMMENDED
              ) -> list[dict[str, Any]]:
    """Items the profile's rules point at, available in the user's region, with reasons."""
    scope = region_scope(profile.region)
    chosen: list[dict[str, Any]] = []
    seen: set[str] = set()
    for rule in rules():
        if not matches(rule["when"], profile):
            continue
        for code in rule["items"]:
            item = snapshot.items.get(code)
            if item is None or code in seen or not item.available_in(scope):
                continue
            seen.add(code)
            chosen.append({**item.payload(), "reason": rule["reason"], "rule": rule["id"]})
            if len(chosen) == limit:
                return chosen
    return chosen
