"""Verifying presented certificates: what the verifier sees, and every way a token fails."""

from __future__ import annotations

import base64
import json
import time

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEntry
from tests.factories import (
    auth_headers,
    create_admin,
)


@pytest.fixture
def verifier(app_context):
    return auth_headers(create_admin(username="hotel", roles=("verifier",),
                                     institution_name="翠湖宾馆"))


def present(client, holder, certificate, **body) -> str:
    response = client.post(f"/api/v1/me/certificates/{certificate.id}/presentations",
                           headers=auth_headers(holder), json={"purpose": "酒店入住", **body})
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def verify(client, headers, token) -> dict:
    response = client.post("/api/v1/verifications", headers=headers, json={"token": token})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def at(monkeypatch, seconds_from_now: float) -> None:
    moment = time.time() + seconds_from_now
    monkeypatch.setattr("app.certificates.tokens.compact_jws.time.time", lambda: moment)


def test_verifier_sees_exactly_what_the_holder_chose(client, holder, licence, verifier):
    token = present(client, holder, licence, fields=["name", "licence_class"],
                    derived=["age_over_18"])
    result = verify(client, verifier, token)
    assert result["valid"] is True
    assert result["disclosed"] == {"name": "李明", "licence_class": "C1", "age_over_18": True}
    assert result["certificate_type"]["code"] == "driving_licence"
    assert result["holder_masked"] == "李*"
    assert "1990-05-12" not in json.dumps(result, ensure_ascii=False)


def test_default_disclosure_is_the_types_display_fields(client, holder, licence, verifier):
    result = verify(client, verifier, present(client, holder, licence))
    assert set(result["disclosed"]) == {"name", "licence_class"}


def test_a_token_verifies_once_then_says_replayed(client, holder, licence, verifier):
    token = present(client, holder, licence)
    assert verify(client, verifier, token)["valid"] is True
    assert verify(client, verifier, token) == {"valid": False, "reason": "replayed"}


def test_a_token_expires(client, holder, licence, verifier, monkeypatch):
    token = present(client, holder, licence)
    at(monkeypatch, 60 + 31)
    assert verify(client, verifier, token) == {"valid": False, "reason": "expired"}


def test_a_token_from_the_future_is_not_yet_valid(client, holder, licence, verifier,
                                                  monkeypatch):
    token = present(client, holder, licence)
    at(monkeypatch, -40)  # well past the 30 s of skew, whatever the second boundaries
    assert verify(client, verifier, token)["reason"] == "not_yet_valid"


def _tamper_payload(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["fields"]["licence_class"] = "A1"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _flip_signature(token: str) -> str:
    header, payload, signature = token.split(".")
    flipped = "A" if signature[5] != "A" else "B"
    return f"{header}.{payload}.{signature[:5]}{flipped}{signature[6:]}"


def _wrong_kid(token: str) -> str:
    header, payload, signature = token.split(".")
    fields = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    fields["kid"] = "no-such-key"
    header = base64.urlsafe_b64encode(json.dumps(fields).encode()).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


def _alg_none(token: str) -> str:
    _, payload, _ = token.split(".")
    header = base64.urlsafe_b64encode(b'{"alg":"none","kid":"x"}').rstrip(b"=").decode()
    return f"{header}.{payload}."


@pytest.mark.parametrize("forge,reason", [
    (_tamper_payload, "bad_signature"), (_flip_signature, "bad_signature"),
    (_wrong_kid, "unknown_key"), (_alg_none, "bad_signature"),
    (lambda t: "garbage", "malformed"), (lambda t: "", "malformed"),
    (lambda t: "a." * 200_000, "malformed"), (lambda t: 12345, "malformed"),
    (lambda t: {"token": t}, "malformed"),
])
def test_forged_and_garbage_tokens_are_refused_with_a_reason(client, holder, licence,
                                                             verifier, forge, reason):
    result = verify(client, verifier, forge(present(client, holder, licence)))
    assert result == {"valid": False, "reason": reason}


def test_only_verifiers_may_verify(client, holder, licence, app_context):
    token = present(client, holder, licence)
    for headers in (auth_headers(holder),
                    auth_headers(create_admin(username="cat", roles=("catalog_admin",)))):
        assert client.post("/api/v1/verifications", headers=headers,
                           json={"token": token}).status_code == 403


def test_each_verification_is_in_the_holders_access_log_and_the_audit_log(
        client, holder, licence, verifier):
    token = present(client, holder, licence)
    verify(client, verifier, token)
    verify(client, verifier, token)
    log = client.get(f"/api/v1/me/certificates/{licence.id}/access-log",
                     headers=auth_headers(holder)).get_json()["items"]
    assert [(e["action"], e["institution"], e["purpose"], e["outcome"]) for e in log] == [
        ("verify", "翠湖宾馆", "酒店入住", "replayed"), ("verify", "翠湖宾馆", "酒店入住", "valid"),
        ("present", "", "酒店入住", "issued")]
    actions = db.session.scalars(sa.select(AuditEntry.action)).all()
    assert actions.count("certificate.verified") == 2


def test_a_body_over_the_size_limit_is_413_in_the_one_shape(client, verifier):
    response = client.post("/api/v1/verifications", headers=verifier,
                           json={"token": "a" * 2_000_000})
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"


def test_the_jwks_may_be_cached_for_a_minute(client):
    response = client.get("/.well-known/jwks.json")
    assert response.headers["Cache-Control"] == "public, max-age=60"
    keys = response.get_json()["keys"]
    assert keys and all(sorted(key) == ["alg", "crv", "kid", "kty", "use", "x"] for key in keys)
