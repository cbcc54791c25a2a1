"""Liveness, readiness, request ids and the API description."""

from __future__ import annotations

import re

from tests.conftest import CLOSED_MYSQL_URL, CLOSED_REDIS_URL


def test_healthz_says_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_reports_each_backing_service(client):
    body = client.get("/readyz").get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "ok"


def test_readyz_is_503_in_the_one_shape_when_the_database_is_unreachable(make_app):
    response = make_app(DATABASE_URL=CLOSED_MYSQL_URL).test_client().get("/readyz")
    body = response.get_json()
    assert response.status_code == 503
    assert body["error"] == "unavailable"
    assert body["checks"]["database"]["status"] == "unavailable"
    assert "数据库" in body["message"]


def test_readyz_is_503_when_redis_is_unreachable(make_app):
    response = make_app(REDIS_URL=CLOSED_REDIS_URL).test_client().get("/readyz")
    body = response.get_json()
    assert response.status_code == 503
    assert body["checks"]["redis"]["status"] == "unavailable"
    assert body["checks"]["database"]["status"] == "ok"


def test_request_id_from_the_client_is_returned(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"


def test_request_id_is_made_when_missing_or_unsafe(client):
    made = client.get("/healthz").headers["X-Request-ID"]
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id <script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert replaced.headers["X-Request-ID"] != "bad id <script>"


def test_openapi_document_describes_the_routes(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["info"]["title"] == "掌上办 API"
    assert {"/healthz", "/readyz", "/api/v1/themes"} <= set(spec["paths"])


def test_docs_ui_loads_its_assets_from_this_server(client):
    page = client.get("/api/v1/docs").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith("/api/v1/docs/assets/") for a in assets)
    for asset in assets:
        assert client.get(asset).status_code == 200


def test_openapi_marks_protected_routes_with_bearer_auth(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/api/v1/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert "security" not in spec["paths"]["/healthz"]["get"]
