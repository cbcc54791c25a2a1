"""The home page, favourites and recent items."""

from __future__ import annotations

from datetime import date

import pytest

from app.catalog import recommend
from app.catalog.hot import record_use
from tests.factories import (
    auth_headers,
    bind_user,
    create_enterprise,
    create_item,
    create_theme,
    create_user,
)
from tests.personal_numbers import new_id_number

RULES = (
    {"id": "retiring", "when": {"age_min": 58, "age_max": 63}, "items": ["GF00004002"],
     "reason": "您即将到达法定退休年龄"},
    {"id": "kunming", "when": {"region_prefix": "5301"}, "items": ["GF00004001"],
     "reason": "昆明市民常用"},
    {"id": "food", "when": {"enterprise_industry": "餐饮服务"}, "items": ["XK00004003"],
     "reason": "您的企业从事餐饮服务"},
)


@pytest.fixture
def catalog(app_context, monkeypatch):
    monkeypatch.setattr(recommend, "rules", lambda: RULES)
    create_theme(code="social_security")
    create_theme(code="business_permits", name="准营准办", audience="enterprise")
    create_item(code="GF00004001", name="社会保障卡申领", sort_order=1)
    create_item(code="GF00004002", name="城镇职工基本养老保险待遇申领", sort_order=2)
    create_item(code="XK00004003", name="食品经营许可", themes=("business_permits",),
                audience="both", sort_order=3)
    create_item(code="GF00004004", name="首页置顶事项", pinned=True, sort_order=4)


def test_anonymous_home_has_pinned_and_hot_only(client, catalog):
    record_use("GF00004002", "530000", "personal")
    body = client.get("/api/v1/home").get_json()
    assert [i["code"] for i in body["pinned"]] == ["GF00004004"]
    assert body["hot"][0]["code"] == "GF00004004" and body["hot"][1]["code"] == "GF00004002"
    assert body["recommended"] == body["recent"] == body["favorites"] == []
    assert body["region"] == {"code": "530000", "name": "云南省"}


def test_home_recommends_by_profile_with_reasons_in_the_users_region(client, catalog):
    user = create_user(id_number=new_id_number("530102", birth_date=date(1965, 6, 1)))
    body = client.get("/api/v1/home", headers=auth_headers(user)).get_json()
    assert body["region"]["code"] == "530102"
    assert [(r["code"], r["reason"]) for r in body["recommended"]] == [
        ("GF00004002", "您即将到达法定退休年龄"), ("GF00004001", "昆明市民常用")]


def test_home_recommends_for_the_bound_enterprises_industry(client, catalog):
    rep = create_user(id_number=new_id_number("530302", birth_date=date(1990, 1, 1)))
    bind_user(user=rep, enterprise=create_enterprise(legal_rep=rep, industry="餐饮服务"))
    body = client.get("/api/v1/home", headers=auth_headers(rep)).get_json()
    assert [r["rule"] for r in body["recommended"]] == ["food"]


def test_home_is_private_and_not_cached(client, catalog):
    response = client.get("/api/v1/home", headers=auth_headers(create_user()))
    assert response.headers["Cache-Control"] == "private, max-age=0"


def test_favorites_are_idempotent_and_shown_on_home(client, catalog):
    headers = auth_headers(create_user())
    for _ in range(2):
        assert client.put("/api/v1/me/favorites/GF00004001", headers=headers).status_code == 204
    client.put("/api/v1/me/favorites/GF00004002", headers=headers)
    listed = [i["code"] for i in client.get("/api/v1/me/favorites", headers=headers).json["items"]]
    assert listed == ["GF00004002", "GF00004001"]
    client.delete("/api/v1/me/favorites/GF00004002", headers=headers)
    home = client.get("/api/v1/home", headers=headers).get_json()
    assert [i["code"] for i in home["favorites"]] == ["GF00004001"]


def test_favoriting_an_unknown_item_is_404(client, catalog):
    response = client.put("/api/v1/me/favorites/GF09999999", headers=auth_headers(create_user()))
    assert response.status_code == 404


def test_recent_lists_the_last_used_first_without_repeats(client, catalog):
    headers = auth_headers(create_user())
    for code in ("GF00004001", "GF00004002", "GF00004001"):
        client.post(f"/api/v1/services/{code}/visits", headers=headers, json={})
    recent = client.get("/api/v1/me/recent", headers=headers).get_json()["items"]
    assert [i["code"] for i in recent] == ["GF00004001", "GF00004002"]
