"""Binding enterprises, delegating agents, and how far an agent reaches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.identity.enterprises import enterprises_reachable, require_enterprise_access
from app.platform.errors import Forbidden
from app.seed.fake_identifiers import fake_uscc
from tests.factories import (
    auth_headers,
    bind_user,
    create_certificate_type,
    create_enterprise,
    create_user,
    issue_certificate,
    real_name_consent,
)
from tests.personal_numbers import new_id_number


@pytest.fixture
def rep(app_context):
    return create_user(name="张丽华")


@pytest.fixture
def company(rep):
    return create_enterprise(legal_rep=rep)


def test_legal_representative_whose_id_matches_is_bound_verified(client, rep, company):
    response = client.post("/api/v1/me/enterprises", headers=auth_headers(rep),
                           json={"uscc": company.uscc, "relation": "legal_representative"})
    assert response.status_code == 201
    assert response.get_json()["status"] == "verified"
    me = client.get("/api/v1/me", headers=auth_headers(rep)).get_json()
    assert me["enterprises"][0]["uscc"] == company.uscc


def test_anyone_else_claiming_to_be_the_representative_is_pending(client, company):
    other = create_user()
    response = client.post("/api/v1/me/enterprises", headers=auth_headers(other),
                           json={"uscc": company.uscc, "relation": "legal_representative"})
    assert response.get_json()["status"] == "pending"


def test_bad_uscc_check_character_is_422_naming_uscc(client, rep):
    good = fake_uscc("530100", 7)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = client.post("/api/v1/me/enterprises", headers=auth_headers(rep),
                           json={"uscc": bad, "relation": "agent"})
    assert response.status_code == 422
    assert "uscc" in response.get_json()["errors"]


def test_unknown_enterprise_is_404_naming_uscc(client, rep):
    response = client.post("/api/v1/me/enterprises", headers=auth_headers(rep),
                           json={"uscc": fake_uscc("530100", 99999), "relation": "agent"})
    assert response.status_code == 404
    assert "uscc" in response.get_json()["errors"]


def test_unbinding_removes_the_enterprise(client, rep, company):
    headers = auth_headers(rep)
    client.post("/api/v1/me/enterprises", headers=headers,
                json={"uscc": company.uscc, "relation": "legal_representative"})
    assert client.delete(f"/api/v1/me/enterprises/{company.uscc}", headers=headers
                         ).status_code == 204
    assert client.get("/api/v1/me", headers=headers).get_json()["enterprises"] == []


def test_legal_representative_delegates_an_agent_by_invite_code(client, rep, company):
    bind_user(user=rep, enterprise=company)
    agent = create_user(name="赵强")
    response = client.post(f"/api/v1/me/enterprises/{company.uscc}/agents",
                           headers=auth_headers(rep),
                           json={"invite_code": agent.invite_code, "scopes": ["cases"]})
    assert response.status_code == 201
    assert response.get_json()["name_masked"] == "赵*"
    listed = client.get(f"/api/v1/me/enterprises/{company.uscc}/agents",
                        headers=auth_headers(rep)).get_json()["items"]
    assert [a["user_id"] for a in listed] == [str(agent.id)]


def test_only_the_verified_representative_may_delegate(client, company):
    stranger, agent = create_user(), create_user()
    response = client.post(f"/api/v1/me/enterprises/{company.uscc}/agents",
                           headers=auth_headers(stranger),
                           json={"user_id": str(agent.id), "scopes": ["cases"]})
    assert response.status_code == 403


@pytest.mark.parametrize("body,field", [
    ({"scopes": ["cases"]}, "user_id"),
    ({"user_id": "1", "invite_code": "ABCDEFGH", "scopes": ["cases"]}, "user_id"),
    ({"user_id": "1", "scopes": ["everything"]}, "scopes"),
    ({"user_id": "1", "scopes": []}, "scopes"),
    ({"user_id": "1", "scopes": ["cases"], "expires_at": "2030-01-01T00:00:00"}, "expires_at"),
])
def test_bad_delegations_are_422_naming_the_field(client, rep, company, body, field):
    bind_user(user=rep, enterprise=company)
    response = client.post(f"/api/v1/me/enterprises/{company.uscc}/agents",
                           headers=auth_headers(rep), json=body)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_delegation_ending_in_the_past_is_refused(client, rep, company):
    bind_user(user=rep, enterprise=company)
    agent = create_user()
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    response = client.post(f"/api/v1/me/enterprises/{company.uscc}/agents",
                           headers=auth_headers(rep),
                           json={"user_id": str(agent.id), "scopes": ["cases"], "expires_at": past})
    assert response.status_code == 422
    assert "expires_at" in response.get_json()["errors"]


def test_agent_reach_stops_at_its_scopes(rep, company):
    agent = create_user()
    bind_user(user=agent, enterprise=company, relation="agent", scopes="cases")
    assert require_enterprise_access(agent, company.uscc, "cases") == company
    with pytest.raises(Forbidden):
        require_enterprise_access(agent, company.uscc, "certificates")


def test_agent_reach_stops_at_its_expiry(rep, company):
    agent = create_user()
    binding = bind_user(user=agent, enterprise=company, relation="agent",
                        scopes="cases,certificates",
                        expires_at=datetime.now(UTC) + timedelta(hours=1))
    assert enterprises_reachable(agent, "certificates") == [company]
    binding.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert enterprises_reachable(agent, "certificates") == []


def test_revoked_agent_reaches_nothing(client, rep, company):
    bind_user(user=rep, enterprise=company)
    agent = create_user()
    bind_user(user=agent, enterprise=company, relation="agent", scopes="cases")
    response = client.delete(f"/api/v1/me/enterprises/{company.uscc}/agents/{agent.id}",
                             headers=auth_headers(rep))
    assert response.status_code == 204
    assert enterprises_reachable(agent, "cases") == []


def test_pending_binding_reaches_nothing(company):
    claimant = create_user()
    bind_user(user=claimant, enterprise=company, status="pending")
    assert enterprises_reachable(claimant, "cases") == []


def _certificates_seen_by(client, user) -> list[str]:
    items = client.get("/api/v1/me/certificates", headers=auth_headers(user)).json["items"]
    return [item["type"]["name"] for item in items]


def _real_name(client, user, name, id_number, code):
    return client.post("/api/v1/me/real-name", headers=auth_headers(user),
                       json={"name": name, "id_number": id_number, "code": code})


def _claim(client, user, company):
    return client.post("/api/v1/me/enterprises", headers=auth_headers(user),
                       json={"uscc": company.uscc, "relation": "legal_representative"})


@pytest.mark.parametrize("claimed_name", ["张丽华", "王芳"])
def test_only_the_representative_proven_by_wechat_binds_and_reads_the_company(
        client, wechat_stub, app_context, claimed_name):
    rep_number = new_id_number()
    company = create_enterprise(legal_rep_id_number=rep_number, name="昆明测试食品有限公司")
    licence = create_certificate_type(code="business_licence", name="营业执照",
                                      holder_kind="enterprise")
    issue_certificate(kind=licence, enterprise=company,
                      fields={"name": company.name, "uscc": company.uscc})

    # A new account types the representative's ID number; WeChat knows its owner as 王芳.
    newcomer = create_user(verified=False)
    code = real_name_consent(stub=wechat_stub, openid=newcomer.openid, name="王芳",
                             id_number=new_id_number())
    refused = _real_name(client, newcomer, claimed_name, rep_number, code)
    assert refused.status_code == 422
    assert refused.get_json()["error"] == "real_name_mismatch"
    assert _claim(client, newcomer, company).get_json()["status"] == "pending"
    assert _certificates_seen_by(client, newcomer) == []

    representative = create_user(verified=False)
    code = real_name_consent(stub=wechat_stub, openid=representative.openid, name="张丽华",
                             id_number=rep_number)
    assert _real_name(client, representative, "张丽华", rep_number, code).status_code == 200
    assert _claim(client, representative, company).get_json()["status"] == "verified"
    assert _certificates_seen_by(client, representative) == ["营业执照"]
