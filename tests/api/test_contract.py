"""The OpenAPI document offers every path of the API contract's implemented sections."""

from __future__ import annotations

import pytest

CONTRACT = [
    ("get", "/healthz"), ("get", "/readyz"), ("get", "/.well-known/jwks.json"),
    ("post", "/api/v1/auth/wechat-login"), ("post", "/api/v1/auth/refresh"),
    ("post", "/api/v1/auth/logout"), ("post", "/api/v1/auth/admin-login"),
    ("get", "/api/v1/me"), ("post", "/api/v1/me/real-name"), ("post", "/api/v1/me/enterprises"),
    ("delete", "/api/v1/me/enterprises/{uscc}"),
    ("get", "/api/v1/themes"), ("get", "/api/v1/services"), ("get", "/api/v1/services/hot"),
    ("get", "/api/v1/services/{code}"), ("get", "/api/v1/search"), ("get", "/api/v1/bundles"),
    ("get", "/api/v1/bundles/{code}"), ("get", "/api/v1/home"),
    ("put", "/api/v1/me/favorites/{code}"), ("delete", "/api/v1/me/favorites/{code}"),
    ("get", "/api/v1/me/favorites"), ("get", "/api/v1/me/recent"),
    ("post", "/api/v1/services/{code}/visits"),
    ("post", "/api/v1/admin/themes"), ("patch", "/api/v1/admin/themes/{code}"),
    ("delete", "/api/v1/admin/themes/{code}"), ("post", "/api/v1/admin/services"),
    ("patch", "/api/v1/admin/services/{code}"), ("delete", "/api/v1/admin/services/{code}"),
    ("post", "/api/v1/admin/bundles"), ("patch", "/api/v1/admin/bundles/{code}"),
    ("delete", "/api/v1/admin/bundles/{code}"),
    ("get", "/api/v1/me/certificates"), ("get", "/api/v1/me/certificates/{certificate_id}"),
    ("post", "/api/v1/me/certificates/{certificate_id}/presentations"),
    ("get", "/api/v1/me/certificates/{certificate_id}/access-log"),
    ("post", "/api/v1/verifications"), ("get", "/api/v1/services/{code}/materials/prefill"),
    ("post", "/api/v1/integrations/certificates"),
    ("post", "/api/v1/integrations/certificates/{certificate_id}/revoke"),
    ("get", "/api/v1/admin/audit-log"),
]


@pytest.fixture(scope="module")
def spec(_session_app):
    return _session_app.test_client().get("/api/v1/openapi.json").get_json()


@pytest.mark.parametrize("method,path", CONTRACT)
def test_contract_path_is_documented(spec, method, path):
    assert method in spec["paths"].get(path, {}), f"{method.upper()} {path}"


def test_every_documented_operation_has_a_summary(spec):
    missing = [f"{m.upper()} {p}" for p, ops in spec["paths"].items() for m, op in ops.items()
               if m in {"get", "post", "put", "patch", "delete"} and not op.get("summary")]
    assert missing == []
