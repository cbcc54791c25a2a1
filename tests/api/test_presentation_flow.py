"""亮证 end to end: a driving licence shown to a hotel, replayed, expired, revoked; offline
verification with an independent JOSE library and the published keys; key rotation."""

from __future__ import annotations

import base64
import json
import time

import pytest
from joserfc import jws
from joserfc.jwk import KeySet

from app.identity.partner_signing import signature
from tests.conftest import SECRETS
from tests.factories import (
    auth_headers,
    create_admin,
    create_certificate_type,
    create_user,
    issue_certificate,
)

KEY_ID, SECRET = SECRETS["DEPARTMENT_KEYS"].split(":")


@pytest.fixture
def scene(app_context):
    holder = create_user(name="李明")
    licence = issue_certificate(kind=create_certificate_type(), holder=holder)
    hotel = create_admin(username="hotel", roles=("verifier",), institution_name="翠湖宾馆")
    return auth_headers(holder), licence, auth_headers(hotel)


def show(client, holder, licence, **body):
    return client.post(f"/api/v1/me/certificates/{licence.id}/presentations", headers=holder,
                       json={"purpose": "酒店入住", "fields": ["name", "licence_class"],
                             "derived": ["age_over_18"], **body})


def check(client, verifier, token):
    return client.post("/api/v1/verifications", headers=verifier, json={"token": token}).json


def revoke(client, identifier: str):
    path = f"/api/v1/integrations/certificates/{identifier}/revoke"
    raw = json.dumps({"event_id": "flow-revoke", "reason": "证件遗失"}).encode()
    stamp = str(int(time.time()))
    return client.post(path, data=raw, content_type="application/json", headers={
        "X-Department-Key": KEY_ID, "X-Timestamp": stamp,
        "X-Signature": signature(base64.b64decode(SECRET), "POST", path, stamp, raw)})


def test_the_whole_story_of_a_presented_driving_licence(client, scene, monkeypatch):
    holder, licence, hotel = scene
    token = show(client, holder, licence).json["token"]
    first = check(client, hotel, token)
    assert first["valid"] and first["disclosed"] == {"name": "李明", "licence_class": "C1",
                                                     "age_over_18": True}
    assert check(client, hotel, token) == {"valid": False, "reason": "replayed"}

    stale = show(client, holder, licence).json["token"]
    later = time.time() + 91
    monkeypatch.setattr("app.certificates.tokens.compact_jws.time.time", lambda: later)
    assert check(client, hotel, stale) == {"valid": False, "reason": "expired"}
    monkeypatch.undo()

    outstanding = show(client, holder, licence).json["token"]
    assert revoke(client, licence.identifier).status_code == 200
    refused = show(client, holder, licence)
    assert refused.status_code == 409 and refused.json["errors"]["id"] == ["revoked"]
    assert check(client, hotel, outstanding) == {"valid": False, "reason": "revoked"}

    log = client.get(f"/api/v1/me/certificates/{licence.id}/access-log", headers=holder).json
    assert [(e["action"], e["outcome"]) for e in reversed(log["items"])] == [
        ("present", "issued"), ("verify", "valid"), ("verify", "replayed"),
        ("present", "issued"), ("verify", "expired"), ("present", "issued"),
        ("verify", "revoked")]


def test_a_token_verifies_offline_with_joserfc_and_only_the_jwks(client, scene):
    holder, licence, _ = scene
    token = show(client, holder, licence).json["token"]
    keys = KeySet.import_key_set(client.get("/.well-known/jwks.json").json)
    verified = jws.deserialize_compact(token, keys, algorithms=["EdDSA"])
    claims = json.loads(verified.payload)
    assert claims["fields"] == {"name": "李明", "licence_class": "C1"}
    assert claims["derived"] == {"age_over_18": True}
    assert claims["exp"] - claims["iat"] == 60 and claims["sub"] != str(licence.id)


def test_every_presentation_has_a_fresh_subject(client, scene):
    holder, licence, _ = scene
    subjects = set()
    for _ in range(3):
        payload = show(client, holder, licence).json["token"].split(".")[1]
        subjects.add(json.loads(base64.urlsafe_b64decode(payload + "==="))["sub"])
    assert len(subjects) == 3


def test_rotation_keeps_old_tokens_verifiable_and_signs_new_ones_with_the_new_key(
        client, runner, scene):
    holder, licence, hotel = scene
    before = show(client, holder, licence).json["token"]
    result = runner.invoke(args=["rotate-signing-key"])
    assert result.exit_code == 0, result.output
    after = show(client, holder, licence).json["token"]
    kid = lambda token: json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "==="))["kid"]  # noqa: E731
    assert kid(before) != kid(after)
    published = {key["kid"] for key in client.get("/.well-known/jwks.json").json["keys"]}
    assert {kid(before), kid(after)} <= published
    assert check(client, hotel, before)["valid"] and check(client, hotel, after)["valid"]
