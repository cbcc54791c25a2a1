"""Department systems: HMAC-signed issuance and revocation, idempotent by event id."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from app.identity.partner_signing import signature
from tests.conftest import SECRETS
from tests.factories import auth_headers, create_admin, create_certificate_type, create_user
from tests.personal_numbers import new_id_number, remember_certificate_number

KEY_ID, SECRET = SECRETS["DEPARTMENT_KEYS"].split(":")
LICENCE_NUMBER = remember_certificate_number("530102199005120000")


def signed_post(client, path: str, body: dict, *, key_id: str = KEY_ID,
                secret: bytes | None = None, clock_offset: int = 0):
    raw = json.dumps(body, ensure_ascii=False).encode()
    stamp = str(int(time.time()) + clock_offset)
    sent = signature(secret or base64.b64decode(SECRET), "POST", path, stamp, raw)
    return client.post(path, data=raw, content_type="application/json", headers={
        "X-Department-Key": key_id, "X-Timestamp": stamp, "X-Signature": sent})


def issue_body(id_number: str, event_id: str = "evt-1", **overrides) -> dict:
    return {"event_id": event_id, "type": "driving_licence", "holder": {"id_number": id_number},
            "number": LICENCE_NUMBER, "fields": {"name": "李明", "licence_class": "C1"},
            "issued_at": "2024-01-01T00:00:00+08:00",
            "expires_at": (datetime.now(UTC) + timedelta(days=900)).isoformat(), **overrides}


@pytest.fixture
def kind(app_context):
    return create_certificate_type()


def test_a_signed_issue_creates_a_certificate_for_the_id_holder(client, kind):
    number = new_id_number()
    response = signed_post(client, "/api/v1/integrations/certificates", issue_body(number))
    assert response.status_code == 201, response.get_json()
    user = create_user(id_number=number)
    items = client.get("/api/v1/me/certificates", headers=auth_headers(user)).json["items"]
    assert [i["identifier"] for i in items] == [response.get_json()["identifier"]]


def test_repeating_an_event_returns_the_first_answer_and_issues_nothing_new(client, kind):
    body = issue_body(new_id_number())
    first = signed_post(client, "/api/v1/integrations/certificates", body)
    again = signed_post(client, "/api/v1/integrations/certificates", body)
    assert again.status_code == first.status_code == 201
    assert again.get_json() == first.get_json()


@pytest.mark.parametrize("change,error", [
    ({"secret": b"x" * 32}, "bad_signature"),
    ({"key_id": "somebody"}, "unknown_department_key"),
    ({"clock_offset": -301}, "timestamp_out_of_range"),
    ({"clock_offset": 301}, "timestamp_out_of_range"),
])
def test_badly_signed_or_stale_requests_are_refused(client, kind, change, error):
    response = signed_post(client, "/api/v1/integrations/certificates",
                           issue_body(new_id_number()), **change)
    assert response.status_code == 401
    assert response.get_json()["error"] == error


def test_an_unsigned_request_is_refused(client, kind):
    response = client.post("/api/v1/integrations/certificates", json=issue_body("x"))
    assert response.status_code == 401 and response.get_json()["error"] == "signature_missing"


def test_a_signature_covers_the_body(client, kind):
    raw = json.dumps(issue_body(new_id_number())).encode()
    stamp = str(int(time.time()))
    sent = signature(base64.b64decode(SECRET), "POST", "/api/v1/integrations/certificates",
                     stamp, raw)
    response = client.post("/api/v1/integrations/certificates", data=raw.replace(b"C1", b"A1"),
                           content_type="application/json", headers={
                               "X-Department-Key": KEY_ID, "X-Timestamp": stamp,
                               "X-Signature": sent})
    assert response.status_code == 401


@pytest.mark.parametrize("overrides,field", [
    ({"type": "unicorn_licence"}, "type"),
    ({"holder": {"id_number": "530102199002310031"}}, "holder.id_number"),
    ({"fields": {"favourite_colour": "蓝"}}, "fields"),
    ({"expires_at": "2000-01-01T00:00:00+08:00"}, "expires_at"),
    ({"issued_at": "yesterday"}, "issued_at"),
])
def test_invalid_issues_are_422_naming_the_field(client, kind, overrides, field):
    response = signed_post(client, "/api/v1/integrations/certificates",
                           issue_body(new_id_number(), **overrides))
    assert response.status_code == 422, response.get_json()
    assert field in json.dumps(response.get_json()["errors"])


def test_revocation_is_signed_idempotent_and_visible_to_the_holder(client, kind):
    number = new_id_number()
    issued = signed_post(client, "/api/v1/integrations/certificates",
                         issue_body(number)).get_json()
    path = f"/api/v1/integrations/certificates/{issued['identifier']}/revoke"
    body = {"event_id": "evt-revoke", "reason": "证件遗失"}
    assert signed_post(client, path, body).get_json()["status"] == "revoked"
    assert signed_post(client, path, body).status_code == 200
    user = create_user(id_number=number)
    items = client.get("/api/v1/me/certificates", headers=auth_headers(user)).json["items"]
    assert items[0]["status"] == "revoked"


def test_admin_tokens_do_not_open_integration_routes(client, kind):
    headers = auth_headers(create_admin(username="root"))
    assert client.post("/api/v1/integrations/certificates", headers=headers,
                       json={}).status_code == 401
