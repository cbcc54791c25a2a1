"""POST /uploads, GET /uploads/{id} and a case's material file: multipart in, the sniffed type
out, read only by the owner and by whoever may see the case the file joined."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import pytest

from app.cases import uploads
from app.extensions import db
from app.models import User
from app.models.case import Case
from app.platform.rate_limit import RateLimit
from tests import sample_files as files
from tests.conftest import ERROR_SHAPE
from tests.factories import (
    auth_headers,
    bind_user,
    create_certificate_type,
    create_enterprise,
    create_item,
    create_theme,
    create_user,
    file_case,
    issue_certificate,
)

UPLOADS = "/api/v1/uploads"


@dataclass
class People:
    owner_id: int
    owner: dict[str, str]
    agent: dict[str, str]  # of the owner's enterprise, with the cases scope
    stranger: dict[str, str]
    uscc: str
    company_item: str  # an enterprise's item; m1 is its business licence
    personal_item: str  # m1 is a driving licence


@pytest.fixture(autouse=True)
def folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    return tmp_path / "uploads"


@pytest.fixture
def people(app_context) -> People:
    create_theme()
    create_theme(code="enterprise_start", name="企业开办", audience="enterprise")
    licence = create_certificate_type()
    business = create_certificate_type(code="business_licence", name="营业执照",
                                       holder_kind="enterprise")
    company_item = create_item(name="企业设立登记", themes=("enterprise_start",),
                               audience="enterprise", materials=[
                                   {"id": "m1", "name": "营业执照",
                                    "certificate_type": business.code}]).code
    personal_item = create_item(name="驾驶证换证", materials=[
        {"id": "m1", "name": "机动车驾驶证", "certificate_type": licence.code}]).code
    owner, agent, stranger = create_user(name="李明"), create_user(), create_user()
    company = create_enterprise(legal_rep=owner)
    bind_user(user=owner, enterprise=company)
    bind_user(user=agent, enterprise=company, relation="agent", scopes="cases")
    return People(owner.id, auth_headers(owner), auth_headers(agent), auth_headers(stranger),
                  company.uscc, company_item, personal_item)


def upload(client, headers, data: bytes, name: str = "材料.pdf",
           declared: str = "application/pdf"):
    return client.post(UPLOADS, headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), name, declared)})


def refused(response, status: int, error: str, field: str | None = None) -> dict:
    body = response.get_json()
    assert response.status_code == status, body
    assert body.keys() >= ERROR_SHAPE and body["code"] == status
    assert body["error"] == error, body
    if field:
        assert field in body["errors"], body
    return body


def test_an_upload_joins_a_case_and_the_cases_readers_read_it(client, people):
    sent = upload(client, people.owner, files.png(), "营业执照.pdf")
    assert sent.status_code == 201, sent.get_json()
    body = sent.get_json()
    assert body.keys() == {"upload_id", "content_type", "size", "filename", "created_at"}
    assert (body["content_type"], body["size"], body["filename"]) == (
        "image/png", len(files.png()), "营业执照.pdf")

    own = client.get(f"{UPLOADS}/{body['upload_id']}", headers=people.owner)
    assert own.status_code == 200 and own.data == files.png()
    assert own.mimetype == "image/png"
    assert own.headers["Content-Disposition"].startswith("attachment;")
    assert own.headers["X-Content-Type-Options"] == "nosniff"

    filed = client.post("/api/v1/cases", headers=people.owner, json={
        "service_code": people.company_item, "enterprise_uscc": people.uscc,
        "materials": [{"material_id": "m1", "upload_id": body["upload_id"]}]})
    assert filed.status_code == 201, filed.get_json()
    case_no = filed.get_json()["case_no"]
    assert filed.get_json()["materials"][0]["upload_id"] == body["upload_id"]
    via_case = f"/api/v1/cases/{case_no}/materials/m1/file"
    for reader in (people.owner, people.agent):
        answer = client.get(via_case, headers=reader)
        assert answer.status_code == 200 and answer.data == files.png()
        assert answer.mimetype == "image/png"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"

    # The agent reads it through the case only; a stranger not at all, as if it did not exist.
    assert client.get(f"{UPLOADS}/{body['upload_id']}", headers=people.agent).status_code == 404
    missing = client.get(f"{UPLOADS}/{'0' * 32}", headers=people.stranger)
    stranger = client.get(f"{UPLOADS}/{body['upload_id']}", headers=people.stranger)
    assert stranger.status_code == 404
    assert {**stranger.get_json(), "request_id": None} == {**missing.get_json(),
                                                            "request_id": None}
    refused(client.get(via_case, headers=people.stranger), 404, "not_found", "case_no")
    refused(client.get(f"/api/v1/cases/{case_no}/materials/m9/file", headers=people.owner),
            404, "not_found", "material_id")


def test_someone_elses_upload_cannot_be_filed(client, people):
    theirs = upload(client, people.stranger, files.pdf()).get_json()["upload_id"]
    response = client.post("/api/v1/cases", headers=people.owner, json={
        "service_code": people.personal_item,
        "materials": [{"material_id": "m1", "upload_id": theirs}]})
    refused(response, 404, "not_found", "materials.0.upload_id")
    assert db.session.query(Case).count() == 0


def test_a_material_a_certificate_provided_has_no_file(client, people):
    owner = db.session.get(User, people.owner_id)
    issue_certificate(kind=create_certificate_type(), holder=owner)
    case = file_case(user=owner, code=people.personal_item)  # 免提交: the licence fills m1
    assert case.materials[0].source == "certificate"
    response = client.get(f"/api/v1/cases/{case.case_no}/materials/m1/file",
                          headers=people.owner)
    body = refused(response, 404, "material_has_no_file", "material_id")
    assert "电子证照" in body["message"]


def test_the_file_type_comes_from_the_content_never_the_name_or_declared_type(client, people):
    for data in (files.HTML, files.SVG, files.EXE, files.archive(**{"a.txt": b"x"})):
        response = upload(client, people.owner, data, "照片.jpg", "image/jpeg")
        refused(response, 422, "unsupported_file_type", "file")
    taken = upload(client, people.owner, files.jpeg(), "scan.exe", "application/x-msdownload")
    assert taken.status_code == 201 and taken.get_json()["content_type"] == "image/jpeg"


def test_a_request_without_a_file_part_names_file(client, people):
    as_field = client.post(UPLOADS, headers=people.owner, content_type="multipart/form-data",
                           data={"file": "not a file", "note": "x"})
    refused(as_field, 422, "validation_error", "file")
    as_json = client.post(UPLOADS, headers=people.owner, json={"file": "x"})
    refused(as_json, 422, "validation_error", "file")
    refused(upload(client, people.owner, b""), 422, "empty_file", "file")


def test_a_file_over_the_limit_is_413_and_the_limit_is_the_upload_routes_alone(app, client,
                                                                            people,
                                                                            monkeypatch):
    # Over MAX_CONTENT_LENGTH (1 MB), within UPLOAD_MAX_BYTES (10 MB): taken here only.
    large = files.pdf(b"%" + b"x" * 2_000_000 + b"\n")
    assert upload(client, people.owner, large).status_code == 201
    # A real document has line breaks all through it: the form's memory limit is not the file's.
    lines = files.pdf(b"1 0 obj <<>> endobj\n" * 20_000)
    assert upload(client, people.owner, lines).status_code == 201
    as_json = client.post("/api/v1/cases", headers=people.owner,
                          data=json.dumps({"service_code": "x" * 2_000_000}),
                          content_type="application/json")
    refused(as_json, 413, "payload_too_large")

    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 100_000)
    over_the_file_limit = upload(client, people.owner, files.pdf(b"%" + b"x" * 100_000 + b"\n"))
    refused(over_the_file_limit, 413, "file_too_large", "file")
    over_the_body_limit = upload(client, people.owner, large)
    refused(over_the_body_limit, 413, "payload_too_large")


def test_uploads_are_rate_limited_per_user(client, people, monkeypatch):
    monkeypatch.setattr(uploads, "UPLOADS_PER_HOUR", RateLimit(2, 3600))
    for _ in range(2):
        assert upload(client, people.owner, files.pdf()).status_code == 201
    response = upload(client, people.owner, files.pdf())
    refused(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0
    assert upload(client, people.agent, files.pdf()).status_code == 201


def test_anonymous_callers_upload_nothing(client, folder):
    refused(upload(client, {}, files.pdf()), 401, "unauthorized")
    assert not folder.exists()
