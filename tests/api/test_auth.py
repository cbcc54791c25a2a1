"""WeChat login, refresh rotation with theft detection, logout, admin login with lockout."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db, redis_store
from app.models import AuditEntry, User
from tests.factories import ADMIN_PASSWORD, create_admin


def mint_code(stub, openid: str = "o-alice", unionid: str | None = None) -> str:
    return stub.state.mint_code(openid, unionid)


def login(client, stub, openid: str = "o-alice", unionid: str | None = None):
    return client.post("/api/v1/auth/wechat-login", json={"code": mint_code(stub, openid, unionid)})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_first_login_creates_the_user_and_keeps_the_unionid(client, wechat_stub, app_context):
    response = login(client, wechat_stub, "o-new", "u-union")
    body = response.get_json()
    assert response.status_code == 200
    assert body["created"] is True and body["token_type"] == "Bearer"
    assert body["user"]["real_name_verified"] is False
    user = db.session.scalar(sa.select(User).where(User.openid == "o-new"))
    assert user.unionid == "u-union"


def test_second_login_finds_the_same_user(client, wechat_stub):
    first = login(client, wechat_stub).get_json()
    second = login(client, wechat_stub).get_json()
    assert second["created"] is False
    assert first["user"]["id"] == second["user"]["id"]


def test_session_key_never_reaches_the_client(client, wechat_stub):
    response = login(client, wechat_stub)
    assert wechat_stub.state.session_key("o-alice") not in response.get_data(as_text=True)


def test_used_code_is_refused_as_wechat_code_invalid(client, wechat_stub):
    code = mint_code(wechat_stub)
    assert client.post("/api/v1/auth/wechat-login", json={"code": code}).status_code == 200
    again = client.post("/api/v1/auth/wechat-login", json={"code": code})
    assert again.status_code == 401
    assert again.get_json()["error"] == "wechat_code_invalid"


def test_expired_code_is_refused_as_wechat_code_invalid(client, wechat_stub):
    code = mint_code(wechat_stub)
    wechat_stub.state.advance_clock(301)
    response = client.post("/api/v1/auth/wechat-login", json={"code": code})
    assert response.status_code == 401
    assert response.get_json()["error"] == "wechat_code_invalid"


def test_unknown_code_is_refused_and_an_empty_one_is_422(client):
    unknown = client.post("/api/v1/auth/wechat-login", json={"code": "made-up"})
    empty = client.post("/api/v1/auth/wechat-login", json={"code": ""})
    assert unknown.status_code == 401
    assert empty.status_code == 422 and "code" in empty.get_json()["errors"]


def test_wechat_busy_after_retries_is_503(client, wechat_stub):
    from mini_program_stub.wechat_state import InjectedFailure

    code = mint_code(wechat_stub)
    wechat_stub.state.add_failure("/sns/jscode2session", InjectedFailure(-1, 200), 10)
    response = client.post("/api/v1/auth/wechat-login", json={"code": code})
    assert response.status_code == 503
    assert response.get_json()["error"] == "unavailable"


def test_wechat_busy_once_is_retried_transparently(client, wechat_stub):
    from mini_program_stub.wechat_state import InjectedFailure

    code = mint_code(wechat_stub)
    wechat_stub.state.add_failure("/sns/jscode2session", InjectedFailure(-1, 200), 1)
    assert client.post("/api/v1/auth/wechat-login", json={"code": code}).status_code == 200


def test_refresh_rotates_and_the_new_pair_works(client, wechat_stub):
    tokens = login(client, wechat_stub).get_json()
    rotated = client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert rotated.status_code == 200
    new = rotated.get_json()
    assert new["refresh_token"] != tokens["refresh_token"]
    assert client.get("/api/v1/me", headers=bearer(new["access_token"])).status_code == 200
    again = client.post("/api/v1/auth/refresh", headers=bearer(new["refresh_token"]))
    assert again.status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(client, wechat_stub):
    tokens = login(client, wechat_stub).get_json()
    new = client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"])).get_json()
    stolen = client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert stolen.status_code == 401
    assert stolen.get_json()["error"] == "token_revoked"
    for token, path, method in [(new["refresh_token"], "/api/v1/auth/refresh", client.post),
                                (new["access_token"], "/api/v1/me", client.get),
                                (tokens["access_token"], "/api/v1/me", client.get)]:
        refused = method(path, headers=bearer(token))
        assert refused.status_code == 401, path
        assert refused.get_json()["error"] == "token_revoked"


def test_an_access_token_cannot_refresh(client, wechat_stub):
    tokens = login(client, wechat_stub).get_json()
    response = client.post("/api/v1/auth/refresh", headers=bearer(tokens["access_token"]))
    assert response.status_code == 401


def test_logout_revokes_access_and_refresh_even_after_redis_loses_its_data(client, wechat_stub,
                                                                         app_context):
    tokens = login(client, wechat_stub).get_json()
    assert client.post("/api/v1/auth/logout",
                       headers=bearer(tokens["access_token"])).status_code == 200
    redis_store.client.flushdb()
    me = client.get("/api/v1/me", headers=bearer(tokens["access_token"]))
    refresh = client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"]))
    assert me.status_code == refresh.status_code == 401
    assert me.get_json()["error"] == "token_revoked"


def test_logout_leaves_other_sessions_of_the_user_alone(client, wechat_stub):
    phone = login(client, wechat_stub).get_json()
    tablet = login(client, wechat_stub).get_json()
    client.post("/api/v1/auth/logout", headers=bearer(phone["access_token"]))
    assert client.get("/api/v1/me", headers=bearer(tablet["access_token"])).status_code == 200


def test_wechat_login_is_rate_limited_per_ip(client, wechat_stub):
    statuses = {client.post("/api/v1/auth/wechat-login", json={"code": "x"}).status_code
                for _ in range(61)}
    assert statuses == {401, 429}


def test_admin_login_returns_tokens_with_roles_and_is_audited(client, app_context):
    create_admin(username="alice", roles=("catalog_admin", "auditor"))
    response = client.post("/api/v1/auth/admin-login",
                           json={"username": "alice", "password": ADMIN_PASSWORD})
    body = response.get_json()
    assert response.status_code == 200
    assert body["account"]["roles"] == ["auditor", "catalog_admin"]
    assert "password" not in response.get_data(as_text=True)
    actions = db.session.scalars(sa.select(AuditEntry.action)).all()
    assert "admin.login" in actions


def test_wrong_admin_password_is_401_naming_the_password(client, app_context):
    create_admin(username="alice")
    response = client.post("/api/v1/auth/admin-login",
                           json={"username": "alice", "password": "wrong"})
    assert response.status_code == 401
    assert "password" in response.get_json()["errors"]


def test_unknown_admin_is_refused_like_a_wrong_password(client):
    response = client.post("/api/v1/auth/admin-login",
                           json={"username": "nobody", "password": "whatever"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_credentials"


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client, app_context):
    create_admin(username="alice")
    for _ in range(5):
        client.post("/api/v1/auth/admin-login", json={"username": "alice", "password": "nope"})
    locked = client.post("/api/v1/auth/admin-login",
                         json={"username": "alice", "password": ADMIN_PASSWORD})
    assert locked.status_code == 429
    assert locked.get_json()["error"] == "account_locked"
    assert int(locked.headers["Retry-After"]) > 0
    actions = db.session.scalars(sa.select(AuditEntry.action)).all()
    assert "admin.locked_out" in actions


def test_admin_tokens_cannot_use_citizen_routes(client, app_context):
    create_admin(username="alice")
    tokens = client.post("/api/v1/auth/admin-login",
                         json={"username": "alice", "password": ADMIN_PASSWORD}).get_json()
    assert client.get("/api/v1/me", headers=bearer(tokens["access_token"])).status_code == 403


def test_logins_of_one_openid_are_rate_limited(client, wechat_stub):
    statuses = [login(client, wechat_stub, "o-busy").status_code for _ in range(21)]
    assert statuses[:20] == [200] * 20
    assert statuses[20] == 429
