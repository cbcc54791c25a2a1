"""亮证 end to end: a driving licence shown to a hotel, replayed, expired, revoked; offline
verification with an independent JOSE library and the published keys; key rotation."""

from __future__ import annotations

import base64
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
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


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_two_presentations_of_one_certificate_share_only_the_type_and_the_chosen_fields(
        client, scene):
    holder, licence, _ = scene
    user = licence_holder(licence)
    first = claims_of(show(client, holder, licence, purpose="酒店入住").json["token"])
    second = claims_of(show(client, holder, licence, purpose="网吧实名").json["token"])
    shared = {name for name in first.keys() & second.keys() if first[name] == second[name]}
    # The issuer is the same for every holder; iat/exp coincide when both fall in one second.
    assert shared - {"iat", "exp"} == {"iss", "cert_type", "fields", "derived"}
    assert first["fields"] == {"name": "李明", "licence_class": "C1"}
    identifying = {licence.identifier, str(licence.id), licence.id, str(user.id), user.id,
                   user.openid, user.invite_code}
    for claims in (first, second):
        values = [*claims.values(), *claims["fields"].values()]
        assert not identifying & {v for v in values if isinstance(v, str | int)}
        assert licence.identifier not in json.dumps(claims, ensure_ascii=False)


def licence_holder(licence):
    from app.extensions import db
    from app.models import User

    return db.session.scalar(sa.select(User).where(
        User.id_number_index == licence.holder_id_index))


def test_a_token_signed_by_us_but_never_issued_is_refused_as_malformed(client, scene):
    from app.certificates.signing import current_signing_key
    from app.certificates.tokens import sign_presentation

    _, licence, hotel = scene
    # What a token shown before presentations were recorded looked like: it named its
    # certificate, which no longer counts for anything.
    token = sign_presentation(current_signing_key(), {
        "jti": "never-issued", "sub": "x", "cert_type": "driving_licence",
        "cert_id": licence.identifier, "fields": {"name": "李明"}})
    assert check(client, hotel, token) == {"valid": False, "reason": "malformed"}


def test_verifiers_scanning_one_token_at_the_same_moment_get_one_valid_answer(
        client, scene, app):
    holder, licence, hotel = scene
    token = show(client, holder, licence).json["token"]
    verifiers = 4
    start = threading.Barrier(verifiers)

    def scan(_: int) -> dict:
        start.wait()
        return check(app.test_client(), hotel, token)

    with ThreadPoolExecutor(verifiers) as pool:
        answers = list(pool.map(scan, range(verifiers)))
    assert sorted(a["valid"] for a in answers) == [False] * (verifiers - 1) + [True]
    assert {a["reason"] for a in answers if not a["valid"]} == {"replayed"}
