"""Recommendation rules are product configuration that ships with the catalog package."""

from __future__ import annotations

import json
from fnmatch import fnmatch
from pathlib import Path

from setuptools.config.setupcfg import read_configuration

from app.catalog.recommend import RULES_FILE, rules

ROOT = Path(__file__).resolve().parents[3]


def test_rules_are_read_from_the_catalog_package():
    shipped = json.loads((ROOT / "app" / "catalog" / RULES_FILE).read_text(encoding="utf-8"))
    assert rules() == tuple(shipped["rules"])
    assert rules()


def test_the_rules_file_is_part_of_the_installed_package():
    patterns = read_configuration(ROOT / "setup.cfg")["options"]["package_data"]["app"]
    assert any(fnmatch(f"catalog/{RULES_FILE}", pattern) for pattern in patterns)

