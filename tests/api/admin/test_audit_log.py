"""The audit log is for auditors, and records admin actions."""

from __future__ import annotations

from tests.factories import ADMIN_PASSWORD, auth_headers, create_admin, create_user


def test_auditor_reads_admin_actions_newest_first(client, app_context):
    create_admin(username="alice", roles=("auditor",))
    client.post("/api/v1/auth/admin-login", json={"username": "alice", "password": "bad"})
    tokens = client.post("/api/v1/auth/admin-login",
                         json={"username": "alice", "password": ADMIN_PASSWORD}).get_json()
    response = client.get("/api/v1/admin/audit-log",
                          headers={"Authorization": f"Bearer {tokens['access_token']}"})
    body = response.get_json()
    assert response.status_code == 200
    assert [e["action"] for e in body["items"]] == ["admin.login", "admin.login_failed"]
    assert body["total"] == 2
    assert body["items"][0]["request_id"]


def test_audit_log_filters_by_action(client, app_context):
    auditor = create_admin(username="alice", roles=("auditor",))
    client.post("/api/v1/auth/admin-login", json={"username": "alice", "password": "bad"})
    response = client.get("/api/v1/admin/audit-log?action=admin.login_failed",
                          headers=auth_headers(auditor))
    assert [e["action"] for e in response.get_json()["items"]] == ["admin.login_failed"]


def test_other_admin_roles_and_citizens_are_refused(client, app_context):
    catalog_admin = create_admin(username="bob", roles=("catalog_admin",))
    citizen = create_user()
    for headers in (auth_headers(catalog_admin), auth_headers(citizen)):
        response = client.get("/api/v1/admin/audit-log", headers=headers)
        assert response.status_code == 403
        assert response.get_json()["error"] == "forbidden"


def test_super_admin_holds_every_admin_role(client, app_context):
    root = create_admin(username="root", roles=("super_admin",))
    assert client.get("/api/v1/admin/audit-log", headers=auth_headers(root)).status_code == 200
