"""The demo as a citizen of Kunming's 五华区 sees it: hot items, recommendations, search."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.catalog.hot import record_use
from app.extensions import db
from app.models import User
from app.seed import seed_demo
from tests.factories import auth_headers


@pytest.fixture
def demo(app_context):
    seed_demo()
    citizen = db.session.scalar(sa.select(User).where(User.openid == "demo-citizen-1"))
    return auth_headers(citizen)


def names(items: list[dict]) -> list[str]:
    return [item.get("name") or item.get("title") for item in items]


@pytest.mark.parametrize("q", ["sbk", "shebaoka", "社保卡", "社保"])
def test_social_security_card_is_found_by_initials_pinyin_and_colloquial_names(client, demo, q):
    hits = client.get("/api/v1/search", query_string={"q": q}).get_json()["items"]
    assert "社会保障卡" in hits[0]["title"]


def test_wuhua_citizen_gets_hot_items_of_wuhua_falling_back_up_the_hierarchy(client, demo):
    record_use("QR00102001", "530102", "personal")  # used in 五华区 itself
    for _ in range(3):
        record_use("JF00101002", "530111", "personal")  # used elsewhere in 昆明
    body = client.get("/api/v1/home", headers=demo).get_json()
    assert body["region"] == {"code": "530102", "name": "五华区"}
    hot = [item["code"] for item in body["hot"]]
    assert hot[:2] == ["QR00102001", "JF00101002"]


def test_wuhua_citizen_gets_recommendations_with_reasons(client, demo):
    recommended = client.get("/api/v1/home", headers=demo).get_json()["recommended"]
    assert recommended
    assert all(item["reason"] for item in recommended)


def test_every_bundle_merges_materials_and_has_one_form(client, demo):
    bundles = client.get("/api/v1/bundles").get_json()["items"]
    assert len(bundles) >= 6
    for summary in bundles:
        bundle = client.get(f"/api/v1/bundles/{summary['code']}").get_json()
        keys = [m["certificate_type"] or m["name"] for m in bundle["materials"]]
        assert len(keys) == len(set(keys)), summary["code"]
        assert bundle["form"]["fields"]
