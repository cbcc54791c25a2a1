"""Every operation of the OpenAPI document lists the error statuses it can answer, in the one
error shape: those its shape and its decorators imply come without the route typing them, and
nothing hides behind a catch-all `default` response."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import pytest
from flask import Flask

from app.api.docs import Api, ErrorSchema
from app.api.partners.signing import department_signed
from app.api.permissions import roles_required, user_required
from app.api.rate_limits import limit_by_ip
from app.api.request_bodies import Blueprint
from app.api.schemas import RequestSchema

DOCUMENT = "/api/v1/openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")
ERROR_SCHEMA = "#/components/schemas/Error"


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, operation) for path, item in document["paths"].items()
            for method, operation in item.items() if method in METHODS]


def _schema_of(document: dict[str, Any], response: dict[str, Any]) -> str:
    """The schema a response refers to, through a shared response component if it is one."""
    if "$ref" in response:
        response = document["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response["content"]["application/json"]["schema"]["$ref"]


@pytest.fixture
def document(client) -> dict[str, Any]:
    return client.get(DOCUMENT).get_json()


def test_no_operation_leaves_its_errors_to_a_default_response(document):
    assert [f"{method.upper()} {path}" for method, path, operation in _operations(document)
            if "default" in operation["responses"]] == []
    assert "DEFAULT_ERROR" not in document["components"].get("responses", {})


def test_every_operation_lists_the_error_statuses_its_shape_implies(document):
    missing = {}
    for method, path, operation in _operations(document):
        implied = {"503"}  # a backing service (database, Redis, WeChat) can be down
        if operation.get("security"):
            implied.add("401")
        if "{" in path:
            implied.add("404")
        if "requestBody" in operation:
            implied.update({"400", "413", "422"})
        if any(parameter["in"] == "query" for parameter in operation.get("parameters", ())):
            implied.add("422")
        if implied - set(operation["responses"]):
            missing[f"{method.upper()} {path}"] = sorted(implied - set(operation["responses"]))
    assert missing == {}


def test_every_error_the_document_lists_is_in_the_one_error_shape(document):
    # Readiness answers its checks along with the error fields, in a schema of its own.
    own_shape = {("get", "/readyz", "503"): "#/components/schemas/Ready"}
    wrong = [f"{method.upper()} {path} {status}"
             for method, path, operation in _operations(document)
             for status, response in operation["responses"].items()
             if int(status) >= 400 and _schema_of(document, response) != own_shape.get(
                 (method, path, status), ERROR_SCHEMA)]
    assert wrong == []


def test_admin_login_states_both_ways_it_answers_429(document):
    responses = document["paths"]["/api/v1/auth/admin-login"]["post"]["responses"]
    assert "account_locked" in responses["429"]["description"]
    assert {"400", "401", "413", "422", "503"} <= set(responses)


# --- a route added tomorrow ---------------------------------------------------------------


class _ProbeBody(RequestSchema):
    name = ma.fields.String(required=True)


class _ProbeQuery(ma.Schema):
    page = ma.fields.Integer()


def _probe_routes() -> Blueprint:
    """Routes no one has written yet, each with one of the decorators that imply statuses."""
    blp = Blueprint("probe_statuses", __name__, url_prefix="/api/v1/probe")

    @blp.get("/plain")
    @blp.response(200)
    def plain() -> dict:
        """Needs nothing but the database."""
        return {}

    @blp.post("/<id:probe_id>/notes")
    @user_required
    @limit_by_ip("probe_notes", limit=5, window_seconds=60)
    @blp.arguments(_ProbeBody())
    @blp.response(201)
    def citizen_writes(body: dict, probe_id: int) -> dict:
        """A citizen writes to a thing of theirs, a few times a minute."""
        return {}

    @blp.get("/admin")
    @roles_required("catalog_admin")
    @blp.arguments(_ProbeQuery(), location="query")
    @blp.response(200)
    def admin_reads(query: dict) -> dict:
        """An admin reads a page."""
        return {}

    @blp.post("/signed")
    @department_signed
    @blp.response(200)
    def department_calls() -> dict:
        """A department system calls with a signature."""
        return {}

    @blp.delete("/<id:probe_id>")
    @user_required
    @blp.response(204)
    @blp.alt_response(403, schema=ErrorSchema, description="only its owner may delete it")
    @blp.alt_response(409, schema=ErrorSchema, description="it is still in use")
    def owner_deletes(probe_id: int) -> None:
        """The owner deletes a thing of theirs."""

    return blp


@pytest.fixture(scope="module")
def new_routes_document() -> dict[str, Any]:
    """The document of an Api of its own holding only the new routes (the app's shared one
    would show them to every test after this one)."""
    app = Flask(__name__)
    app.config.update(API_TITLE="probe", API_VERSION="v1", OPENAPI_VERSION="3.0.3")
    api = Api(app)
    api.register_blueprint(_probe_routes())
    return api.spec.to_dict()


@pytest.mark.parametrize("method,path,statuses", [
    ("get", "/api/v1/probe/plain", {"200", "503"}),
    ("post", "/api/v1/probe/{probe_id}/notes",
     {"201", "400", "401", "403", "404", "413", "422", "429", "503"}),
    ("get", "/api/v1/probe/admin", {"200", "401", "403", "422", "503"}),
    ("post", "/api/v1/probe/signed", {"200", "401", "503"}),
    ("delete", "/api/v1/probe/{probe_id}", {"204", "401", "403", "404", "409", "503"}),
])
def test_a_new_route_lists_the_statuses_its_decorators_imply(new_routes_document, method,
                                                             path, statuses):
    assert set(new_routes_document["paths"][path][method]["responses"]) == statuses


def test_a_status_a_route_declares_keeps_its_own_description(new_routes_document):
    responses = new_routes_document["paths"]["/api/v1/probe/{probe_id}"]["delete"]["responses"]
    assert responses["403"]["description"] == "only its owner may delete it"
    assert responses["401"] == {"$ref": "#/components/responses/UNAUTHORIZED"}


def test_the_statuses_a_new_route_gets_are_in_the_one_error_shape(new_routes_document):
    responses = new_routes_document["paths"]["/api/v1/probe/{probe_id}/notes"]["post"][
        "responses"]
    assert {status: _schema_of(new_routes_document, response)
            for status, response in responses.items() if int(status) >= 400} == {
        status: ERROR_SCHEMA for status in ("400", "401", "403", "404", "413", "422", "429",
                                             "503")}
