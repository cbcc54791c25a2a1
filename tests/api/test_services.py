"""Service item lists, guides with ETags, and the hot list."""

from __future__ import annotations

import pytest

from app.catalog.hot import record_use
from tests.conftest import CLOSED_REDIS_URL
from tests.factories import auth_headers, create_item, create_theme, create_user
from tests.personal_numbers import new_id_number


@pytest.fixture
def catalog(app_context):
    create_theme(code="social_security", name="社会保障")
    create_theme(code="company_start", name="企业开办", audience="enterprise")
    return {
        "card": create_item(code="GF00001001", name="社会保障卡申领", sort_order=1),
        "lost": create_item(code="GF00001002", name="社会保障卡挂失", sort_order=2,
                            online_level="部分网办"),
        "local": create_item(code="GF00001003", name="五华区老年证办理", regions=("530102",),
                             sort_order=3),
        "firm": create_item(code="XK00002001", name="企业设立登记", themes=("company_start",),
                            audience="enterprise", sort_order=4),
    }


def codes(response) -> list[str]:
    return [item["code"] for item in response.get_json()["items"]]


def test_services_are_listed_in_curated_order_with_a_total(client, catalog):
    body = client.get("/api/v1/services?per_page=2").get_json()
    assert [i["code"] for i in body["items"]] == ["GF00001001", "GF00001002"]
    assert body["total"] == 4 and body["page"] == 1


@pytest.mark.parametrize("query,expected", [
    ("theme=company_start", ["XK00002001"]),
    ("audience=enterprise", ["XK00002001"]),
    ("online_level=部分网办", ["GF00001002"]),
    ("region=530103&audience=personal", ["GF00001001", "GF00001002"]),
    ("region=530102&audience=personal", ["GF00001001", "GF00001002", "GF00001003"]),
])
def test_services_filter(client, catalog, query, expected):
    assert codes(client.get(f"/api/v1/services?{query}")) == expected


@pytest.mark.parametrize("query,field", [("per_page=101", "per_page"), ("region=5301", "region"),
                                         ("online_level=随便", "online_level")])
def test_bad_list_parameters_are_422_naming_the_field(client, query, field):
    response = client.get(f"/api/v1/services?{query}")
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_guide_has_every_element_of_the_contract(client, catalog):
    guide = client.get("/api/v1/services/GF00001001").get_json()
    for field in ("code", "name", "department", "theme", "audience", "legal_basis", "conditions",
                  "materials", "steps", "legal_limit_days", "promised_limit_days", "fee",
                  "online_level", "zero_trip", "regions", "faqs"):
        assert field in guide, field
    assert guide["materials"][0] == {"id": "m1", "name": "居民身份证", "required": True,
                                     "copies": 1, "form": "original", "notes": "",
                                     "certificate_type": "id_card"}
    assert guide["regions"] == [{"code": "530000", "name": "云南省"}]


def test_unknown_item_is_404(client, catalog):
    assert client.get("/api/v1/services/GF99999999").status_code == 404


def test_conditional_get_answers_304_until_the_catalog_changes(client, catalog):
    first = client.get("/api/v1/services/GF00001001")
    assert first.headers["Cache-Control"] == "public, no-cache"
    etag = first.headers["ETag"]
    again = client.get("/api/v1/services/GF00001001", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    create_item(code="GF00001009", name="社会保障卡补换")
    changed = client.get("/api/v1/services/GF00001001", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def test_hot_list_ranks_recent_uses_in_the_county(client, catalog):
    for _ in range(3):
        record_use("GF00001002", "530102", "personal")
    record_use("GF00001003", "530102", "personal")
    assert codes(client.get("/api/v1/services/hot?region=530102&limit=3")) == [
        "GF00001002", "GF00001003", "GF00001001"]


def test_a_county_without_data_falls_back_to_its_prefecture(client, catalog):
    record_use("GF00001002", "530103", "personal")  # a neighbour in the same prefecture
    assert codes(client.get("/api/v1/services/hot?region=530102&limit=1")) == ["GF00001002"]


def test_recent_uses_outweigh_old_ones(client, catalog, monkeypatch):
    import app.catalog.hot as hot

    monkeypatch.setattr(hot.time, "time", lambda: hot.EPOCH + 0)
    for _ in range(3):
        record_use("GF00001001", "530102", "personal")
    monkeypatch.setattr(hot.time, "time", lambda: hot.EPOCH + 4 * hot.HALF_LIFE_SECONDS)
    record_use("GF00001002", "530102", "personal")  # one use now beats three a month ago
    assert codes(client.get("/api/v1/services/hot?region=530102&limit=1")) == ["GF00001002"]


def test_pinned_items_lead_the_hot_list(client, catalog, app_context):
    create_item(code="GF00001010", name="高频置顶事项", pinned=True, sort_order=9)
    record_use("GF00001002", "530102", "personal")
    assert codes(client.get("/api/v1/services/hot?region=530102&limit=2")) == [
        "GF00001010", "GF00001002"]


def test_hot_list_keeps_to_the_audience(client, catalog):
    record_use("XK00002001", "530102", "personal")
    assert "XK00002001" not in codes(client.get("/api/v1/services/hot?region=530102"))
    assert codes(client.get("/api/v1/services/hot?audience=enterprise")) == ["XK00002001"]


def test_hot_list_falls_back_to_curated_order_without_redis(catalog, make_app):
    offline = make_app(REDIS_URL=CLOSED_REDIS_URL).test_client()
    response = offline.get("/api/v1/services/hot?region=530102&limit=2")
    assert response.status_code == 200
    assert codes(response) == ["GF00001001", "GF00001002"]


def test_a_visit_counts_for_hot_and_for_the_users_recent_list(client, catalog):
    headers = auth_headers(create_user())
    response = client.post("/api/v1/services/GF00001003/visits", headers=headers,
                           json={"region": "530102"})
    assert response.status_code == 202
    assert codes(client.get("/api/v1/services/hot?region=530102&limit=1")) == ["GF00001003"]
    assert codes(client.get("/api/v1/me/recent", headers=headers)) == ["GF00001003"]


def test_a_visit_to_an_unknown_item_is_404(client, catalog):
    assert client.post("/api/v1/services/GF12345678/visits", json={}).status_code == 404


def test_applications_feed_the_hot_list_of_the_applicants_region(client, catalog,
                                                                  app_context):
    applicant = create_user(id_number=new_id_number(region_code="530102"))
    create_item(code="GF00001011", name="图书馆读者证办理", materials=[])
    record_use("GF00001002", "530102", "personal")
    record_use("GF00001002", "530102", "personal")
    answer = client.post("/api/v1/cases", headers=auth_headers(applicant),
                         json={"service_code": "GF00001011"})
    assert answer.status_code == 201, answer.get_json()
    # One application outweighs two looks at another guide, in the county and above it.
    for region in ("530102", "530100", "530000"):
        assert codes(client.get(f"/api/v1/services/hot?region={region}&limit=1")) == [
            "GF00001011"], region
