"""The holder's certificates: who sees which, masking, presentations and the access log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import (
    auth_headers,
    bind_user,
    create_certificate_type,
    create_enterprise,
    create_user,
    issue_certificate,
)


def present(client, user, certificate, **body):
    return client.post(f"/api/v1/me/certificates/{certificate.id}/presentations",
                       headers=auth_headers(user), json={"purpose": "酒店入住", **body})


def test_holder_lists_their_certificates_masked(client, holder, licence):
    items = client.get("/api/v1/me/certificates", headers=auth_headers(holder)).json["items"]
    assert len(items) == 1
    item = items[0]
    assert item["type"]["code"] == "driving_licence" and item["status"] == "valid"
    assert item["holder_masked"] == "李*"
    assert "*" in item["number_masked"] and item["identifier"] == licence.identifier


def test_detail_masks_sensitive_fields_and_logs_the_view(client, holder, licence):
    headers = auth_headers(holder)
    body = client.get(f"/api/v1/me/certificates/{licence.id}", headers=headers).get_json()
    fields = {f["name"]: f for f in body["fields"]}
    assert fields["licence_class"]["value"] == "C1"
    assert fields["birth_date"]["sensitive"] and fields["birth_date"]["value"] != "1990-05-12"
    log = client.get(f"/api/v1/me/certificates/{licence.id}/access-log", headers=headers).json
    assert [e["action"] for e in log["items"]] == ["view"]


def test_someone_elses_certificate_is_404(client, licence):
    stranger = auth_headers(create_user())
    assert client.get(f"/api/v1/me/certificates/{licence.id}", headers=stranger
                      ).status_code == 404
    assert present(client, create_user(), licence).status_code == 404


def test_a_certificate_issued_before_real_name_appears_after_it(client, app_context):
    from tests.personal_numbers import new_id_number

    number = new_id_number()
    issue_certificate(kind=create_certificate_type(), id_number=number)
    user = create_user(id_number=number)
    assert len(client.get("/api/v1/me/certificates", headers=auth_headers(user)).json["items"]) == 1


def test_presentation_is_a_short_lived_signed_token_with_a_qr(client, holder, licence):
    response = present(client, holder, licence, fields=["name", "licence_class"],
                       derived=["age_over_18"])
    body = response.get_json()
    assert response.status_code == 201
    assert body["token"].count(".") == 2 and body["qr_svg"].startswith("<svg")
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(seconds=50) < expires - datetime.now(UTC) <= timedelta(seconds=61)
    assert body["fields"] == ["licence_class", "name"] and body["derived"] == {"age_over_18": True}


def test_a_client_that_draws_its_own_qr_gets_the_token_alone(client, holder, licence):
    response = present(client, holder, licence, fields=["name"], qr=False)
    body = response.get_json()
    assert response.status_code == 201
    assert body["qr_svg"] is None
    assert body["token"].count(".") == 2 and body["fields"] == ["name"]


@pytest.mark.parametrize("body,field", [
    ({"fields": ["blood_type"]}, "fields"), ({"derived": ["age_over_21"]}, "derived"),
    ({"purpose": ""}, "purpose"), ({"qr": "maybe"}, "qr"),
])
def test_bad_presentation_requests_are_422_naming_the_field(client, holder, licence, body,
                                                            field):
    response = present(client, holder, licence, **body)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_expired_certificate_cannot_be_presented(client, holder):
    old = issue_certificate(kind=create_certificate_type(), holder=holder,
                            expires_at=datetime.now(UTC) + timedelta(seconds=1))
    old.expires_at = datetime.now(UTC) - timedelta(days=1)
    from app.extensions import db

    db.session.commit()
    response = present(client, holder, old)
    assert response.status_code == 409
    assert response.get_json()["errors"]["id"] == ["expired"]


def test_enterprise_certificates_reach_the_representative_and_scoped_agents(client, holder):
    company = create_enterprise(legal_rep=holder)
    bind_user(user=holder, enterprise=company)
    kind = create_certificate_type(code="business_licence", name="营业执照",
                                   holder_kind="enterprise")
    issue_certificate(kind=kind, enterprise=company,
                      fields={"name": "测试科技有限公司", "uscc": company.uscc})
    agent, cases_only, lapsed = create_user(), create_user(), create_user()
    bind_user(user=agent, enterprise=company, relation="agent", scopes="certificates")
    bind_user(user=cases_only, enterprise=company, relation="agent", scopes="cases")
    bind_user(user=lapsed, enterprise=company, relation="agent", scopes="cases,certificates",
              expires_at=datetime.now(UTC) - timedelta(minutes=1))
    counts = {name: len(client.get("/api/v1/me/certificates",
                                   headers=auth_headers(user)).json["items"])
              for name, user in [("rep", holder), ("agent", agent), ("cases", cases_only),
                                 ("lapsed", lapsed)]}
    assert counts == {"rep": 1, "agent": 1, "cases": 0, "lapsed": 0}
