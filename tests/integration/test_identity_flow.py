"""The whole identity story over real HTTP: the API served on a port, WeChat played by the stub."""

from __future__ import annotations

import pytest
import requests

from app.extensions import redis_store
from mini_program_stub.wechat_server import StubServer
from tests.factories import create_enterprise, create_user
from tests.personal_numbers import new_id_number

pytestmark = pytest.mark.integration


@pytest.fixture
def api(app):
    server = StubServer(app)  # serves any Flask app on an ephemeral loopback port
    yield server.url + "/api/v1"
    server.stop()


def test_login_real_name_enterprise_refresh_theft_and_logout(api, app, wechat_stub, app_context):
    http = requests.Session()
    number = new_id_number("530102")
    rep_record = create_user(openid="someone-else", id_number=new_id_number())
    company = create_enterprise(legal_rep_id_number=number, name="昆明测试食品有限公司")
    assert rep_record  # a different person, so the ID below is free

    code = http.post(f"{wechat_stub.url}/_stub/codes", json={"openid": "o-flow"}).json()["code"]
    login = http.post(f"{api}/auth/wechat-login", json={"code": code})
    assert login.status_code == 200, login.text
    tokens = login.json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}

    # WeChat knows the user as 王芳 with this number; they agree on WeChat's consent page.
    http.put(f"{wechat_stub.url}/_stub/real-names",
             json={"openid": "o-flow", "name": "王芳", "id_number": number})
    consent = http.post(f"{wechat_stub.url}/_stub/real-name-codes",
                        json={"openid": "o-flow"}).json()["code"]
    verified = http.post(f"{api}/me/real-name", headers=auth,
                         json={"name": "王芳", "id_number": number, "code": consent})
    assert verified.status_code == 200 and verified.json()["real_name_verified"]
    assert number not in verified.text

    bound = http.post(f"{api}/me/enterprises", headers=auth,
                      json={"uscc": company.uscc, "relation": "legal_representative"})
    assert bound.status_code == 201 and bound.json()["status"] == "verified"

    old_refresh = tokens["refresh_token"]
    rotated = http.post(f"{api}/auth/refresh",
                        headers={"Authorization": f"Bearer {old_refresh}"}).json()
    theft = http.post(f"{api}/auth/refresh", headers={"Authorization": f"Bearer {old_refresh}"})
    assert theft.status_code == 401 and theft.json()["error"] == "token_revoked"
    family_gone = http.get(f"{api}/me",
                           headers={"Authorization": f"Bearer {rotated['access_token']}"})
    assert family_gone.status_code == 401

    code = http.post(f"{wechat_stub.url}/_stub/codes", json={"openid": "o-flow"}).json()["code"]
    fresh = http.post(f"{api}/auth/wechat-login", json={"code": code}).json()
    auth = {"Authorization": f"Bearer {fresh['access_token']}"}
    me = http.get(f"{api}/me", headers=auth).json()
    assert me["enterprises"][0]["status"] == "verified"
    assert http.post(f"{api}/auth/logout", headers=auth).status_code == 200
    redis_store.client.flushdb()
    refused = http.get(f"{api}/me", headers=auth)
    assert refused.status_code == 401 and refused.json()["error"] == "token_revoked"
