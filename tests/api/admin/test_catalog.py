"""Catalog upkeep by admins: validated, audit-logged, visible at once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEntry
from tests.factories import (
    auth_headers,
    create_admin,
    create_certificate_type,
    create_item,
    create_regions,
    create_theme,
)


@pytest.fixture
def admin(app_context):
    create_regions()
    create_theme(code="social_security", name="社会保障")
    create_certificate_type(code="id_card", name="居民身份证")
    return auth_headers(create_admin(username="cat", roles=("catalog_admin",)))


def new_item(**overrides) -> dict:
    return {"code": "GF00003001", "name": "城乡居民基本养老保险参保登记", "department": "人社局",
            "audience": "personal", "themes": ["social_security"], "regions": ["530000"],
            "legal_limit_days": 10, "promised_limit_days": 3, "online_level": "全程网办",
            "materials": [{"id": "m1", "name": "居民身份证", "certificate_type": "id_card"}],
            "steps": [{"name": "申请"}], **overrides}


def test_admin_creates_an_item_and_it_is_listed_searched_and_audited(client, admin):
    response = client.post("/api/v1/admin/services", headers=admin, json=new_item())
    assert response.status_code == 201, response.get_json()
    assert client.get("/api/v1/services/GF00003001").get_json()["name"].startswith("城乡居民")
    found = client.get("/api/v1/search?q=养老保险").get_json()["items"]
    assert found and found[0]["key"] == "GF00003001"
    actions = db.session.scalars(sa.select(AuditEntry.action)).all()
    assert "catalog.item_created" in actions


def test_guide_edit_shows_at_once_in_the_guide_and_in_search(client, admin):
    create_item(code="GF00003002", name="社会保障卡申领")
    etag = client.get("/api/v1/services/GF00003002").headers["ETag"]
    assert client.get("/api/v1/search?q=社会保障卡").get_json()["items"]
    response = client.patch("/api/v1/admin/services/GF00003002", headers=admin,
                            json={"name": "第三代社会保障卡申领", "keywords": ["三代卡"],
                                  "fee": "免费"})
    assert response.status_code == 200
    guide = client.get("/api/v1/services/GF00003002", headers={"If-None-Match": etag})
    assert guide.status_code == 200
    assert guide.get_json()["name"] == "第三代社会保障卡申领" and guide.get_json()["version"] == 2
    hits = client.get("/api/v1/search?q=三代卡").get_json()["items"]
    assert [h["key"] for h in hits] == ["GF00003002"]
    entry = db.session.scalar(sa.select(AuditEntry).where(
        AuditEntry.action == "catalog.item_updated"))
    assert entry.target_id == "GF00003002" and entry.details["fields"] == ["fee", "keywords",
                                                                           "name"]


@pytest.mark.parametrize("overrides,field", [
    ({"code": "AB12"}, "code"),
    ({"code": "ZZ00003001"}, "code"),
    ({"promised_limit_days": 30}, "promised_limit_days"),
    ({"themes": ["no_such_theme"]}, "themes"),
    ({"regions": ["999999"]}, "regions"),
    ({"regions": ["5301"]}, "regions"),
    ({"online_level": "网上办"}, "online_level"),
    ({"materials": [{"id": "m1", "name": "x", "certificate_type": "passport_of_mars"}]},
     "materials"),
    ({"zero_trip": True, "online_level": "窗口办理"}, "zero_trip"),
    ({"name": ""}, "name"),
])
def test_invalid_items_are_422_naming_the_field(client, admin, overrides, field):
    response = client.post("/api/v1/admin/services", headers=admin, json=new_item(**overrides))
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]


def test_a_material_may_name_any_certificate_type_of_the_table(client, admin):
    item = new_item(materials=[{"id": "m1", "name": "护照", "certificate_type": "passport"}])
    assert client.post("/api/v1/admin/services", headers=admin, json=item).status_code == 422
    create_certificate_type(code="passport", name="护照")
    response = client.post("/api/v1/admin/services", headers=admin, json=item)
    assert response.status_code == 201, response.get_json()
    guide = client.get("/api/v1/services/GF00003001").get_json()
    assert guide["materials"][0]["certificate_type"] == "passport"


def test_a_duplicate_code_is_409(client, admin):
    client.post("/api/v1/admin/services", headers=admin, json=new_item())
    response = client.post("/api/v1/admin/services", headers=admin, json=new_item())
    assert response.status_code == 409
    assert "code" in response.get_json()["errors"]


def test_a_patch_cannot_make_the_promise_exceed_the_legal_limit(client, admin):
    create_item(code="GF00003003", legal_limit_days=10, promised_limit_days=5)
    response = client.patch("/api/v1/admin/services/GF00003003", headers=admin,
                            json={"promised_limit_days": 11})
    assert response.status_code == 422
    assert "promised_limit_days" in response.get_json()["errors"]


def test_deleting_an_item_removes_it_everywhere(client, admin):
    create_item(code="GF00003004", name="社会保障卡挂失")
    assert client.delete("/api/v1/admin/services/GF00003004", headers=admin).status_code == 204
    assert client.get("/api/v1/services/GF00003004").status_code == 404
    assert client.get("/api/v1/search?q=挂失").get_json()["items"] == []


def test_other_roles_cannot_edit_the_catalog(client, app_context):
    auditor = auth_headers(create_admin(username="aud", roles=("auditor",)))
    response = client.post("/api/v1/admin/services", headers=auditor, json=new_item())
    assert response.status_code == 403


def test_themes_are_created_edited_and_counted(client, admin):
    response = client.post("/api/v1/admin/themes", headers=admin,
                           json={"code": "pension", "name": "养老服务"})
    assert response.status_code == 201
    create_item(code="GF00003005", themes=("pension",))
    client.patch("/api/v1/admin/themes/pension", headers=admin, json={"name": "养老"})
    themes = {t["code"]: t for t in client.get("/api/v1/themes").get_json()["items"]}
    assert themes["pension"]["name"] == "养老" and themes["pension"]["item_count"] == 1
    bad = client.post("/api/v1/admin/themes", headers=admin, json={"code": "Bad Code"})
    assert bad.status_code == 422 and {"code", "name"} <= set(bad.get_json()["errors"])


def test_bundles_merge_their_materials_and_refuse_unknown_items(client, admin):
    create_item(code="GF00003006", name="生育登记", materials=[
        {"id": "m1", "name": "居民身份证", "certificate_type": "id_card"},
        {"id": "m2", "name": "结婚证", "certificate_type": "marriage_certificate"}])
    create_item(code="GF00003007", name="新生儿落户", materials=[
        {"id": "m1", "name": "身份证", "certificate_type": "id_card"},
        {"id": "m2", "name": "出生医学证明", "certificate_type": "birth_medical_certificate"}])
    bundle = {"code": "B901", "name": "新生儿出生一件事", "audience": "personal",
              "items": ["GF00003006", "GF00003007"],
              "form": {"fields": [{"name": "baby_name", "label": "新生儿姓名", "type": "text"}]}}
    assert client.post("/api/v1/admin/bundles", headers=admin, json=bundle).status_code == 201
    detail = client.get("/api/v1/bundles/B901").get_json()
    assert [m["certificate_type"] for m in detail["materials"]] == [
        "id_card", "marriage_certificate", "birth_medical_certificate"]
    assert detail["materials"][0]["for_items"] == ["GF00003006", "GF00003007"]
    bad = client.post("/api/v1/admin/bundles", headers=admin,
                      json={**bundle, "code": "B902", "items": ["GF00003006", "GF09999999"]})
    assert bad.status_code == 422 and "items" in bad.get_json()["errors"]


def test_synonyms_edited_by_admins_reach_search(client, admin):
    create_item(code="GF00003008", name="城乡居民医疗保险参保登记")
    assert client.get("/api/v1/search?q=新农合").get_json()["items"] == []
    response = client.put("/api/v1/admin/synonyms/新农合", headers=admin,
                          json={"expansions": ["城乡居民医疗保险"]})
    assert response.status_code == 200
    hits = client.get("/api/v1/search?q=新农合").get_json()["items"]
    assert [h["key"] for h in hits] == ["GF00003008"]


def test_removed_synonyms_leave_search_and_unknown_ones_are_404(client, admin):
    create_item(code="GF00003009", name="城乡居民医疗保险参保登记")
    client.put("/api/v1/admin/synonyms/新农合", headers=admin,
               json={"expansions": ["城乡居民医疗保险"]})
    assert client.delete("/api/v1/admin/synonyms/新农合", headers=admin).status_code == 204
    assert client.get("/api/v1/search?q=新农合").get_json()["items"] == []
    assert client.get("/api/v1/admin/synonyms", headers=admin).get_json()["items"] == []
    again = client.delete("/api/v1/admin/synonyms/新农合", headers=admin)
    assert again.status_code == 404 and again.get_json()["error"] == "not_found"


def test_a_synonym_term_longer_than_32_characters_is_422_naming_term(client, admin):
    response = client.put("/api/v1/admin/synonyms/" + "保" * 33, headers=admin,
                          json={"expansions": ["社会保障"]})
    assert response.status_code == 422 and "term" in response.get_json()["errors"]


def test_an_edit_that_changes_nothing_is_neither_versioned_nor_audited(client, admin):
    create_item(code="GF00003010", name="社会保障卡申领")
    response = client.patch("/api/v1/admin/services/GF00003010", headers=admin,
                            json={"name": "社会保障卡申领"})
    assert response.status_code == 200 and response.get_json()["version"] == 1
    assert db.session.scalars(sa.select(AuditEntry.action)).all() == []


def test_themes_edited_or_deleted_must_exist(client, admin):
    for response in (client.patch("/api/v1/admin/themes/pension", headers=admin,
                                  json={"name": "养老"}),
                     client.delete("/api/v1/admin/themes/pension", headers=admin)):
        assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    assert client.delete("/api/v1/admin/themes/social_security", headers=admin).status_code == 204
    assert client.get("/api/v1/themes").get_json()["items"] == []


def test_an_item_a_bundle_joins_cannot_be_deleted_until_the_bundle_lets_it_go(client, admin):
    create_item(code="GF00003005", name="个体工商户设立登记")
    create_item(code="GF00003006", name="税务登记")
    bundle = {"code": "B902", "name": "个体户开办一件事", "audience": "personal",
              "items": ["GF00003005", "GF00003006"],
              "form": {"fields": [{"name": "shop_name", "label": "字号", "type": "text"}]}}
    assert client.post("/api/v1/admin/bundles", headers=admin, json=bundle).status_code == 201

    refused = client.delete("/api/v1/admin/services/GF00003005", headers=admin)

    assert refused.status_code == 409
    assert refused.get_json()["error"] == "item_in_bundle"
    assert refused.get_json()["errors"] == {"code": ["B902"]}
    members = client.get("/api/v1/bundles/B902").get_json()["items"]
    assert [item["code"] for item in members] == ["GF00003005", "GF00003006"]
