"""免提交: the materials a caller's valid certificates replace."""

from __future__ import annotations

import pytest

from tests.factories import (
    auth_headers,
    bind_user,
    create_certificate_type,
    create_enterprise,
    create_item,
    create_theme,
    create_user,
    issue_certificate,
)


@pytest.fixture
def item(app_context):
    create_theme(code="business_permits", name="准营准办", audience="enterprise")
    return create_item(code="XK00006001", name="食品经营许可", themes=("business_permits",),
                       audience="enterprise", materials=[
                           {"id": "m1", "name": "经营者身份证", "certificate_type": "id_card"},
                           {"id": "m2", "name": "营业执照", "certificate_type": "business_licence"},
                           {"id": "m3", "name": "食品安全管理制度", "certificate_type": None}])


def test_own_and_enterprise_certificates_satisfy_materials(client, item):
    rep = create_user()
    company = create_enterprise(legal_rep=rep)
    bind_user(user=rep, enterprise=company)
    issue_certificate(kind=create_certificate_type(code="id_card", name="居民身份证"), holder=rep)
    issue_certificate(kind=create_certificate_type(code="business_licence", name="营业执照",
                                                   holder_kind="enterprise"),
                      enterprise=company, fields={"name": "测试", "uscc": company.uscc})
    body = client.get(f"/api/v1/services/XK00006001/materials/prefill?enterprise={company.uscc}",
                      headers=auth_headers(rep)).get_json()
    assert [(m["id"], m["satisfied"], m["holder"]) for m in body["materials"]] == [
        ("m1", True, "self"), ("m2", True, "enterprise"), ("m3", False, None)]
    assert body["still_required"] == ["m3"]


def test_without_the_enterprise_only_own_certificates_count(client, item):
    user = create_user()
    issue_certificate(kind=create_certificate_type(code="id_card", name="居民身份证"), holder=user)
    body = client.get("/api/v1/services/XK00006001/materials/prefill",
                      headers=auth_headers(user)).get_json()
    assert body["still_required"] == ["m2", "m3"]


def test_a_stranger_cannot_use_an_enterprises_certificates(client, item):
    company = create_enterprise()
    response = client.get(f"/api/v1/services/XK00006001/materials/prefill?enterprise="
                          f"{company.uscc}", headers=auth_headers(create_user()))
    assert response.status_code == 403
