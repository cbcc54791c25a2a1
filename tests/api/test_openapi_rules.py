"""The OpenAPI document tells the truth: a request built from what it states alone (examples,
enums, defaults, bounds) is accepted by every operation, and the rules the app enforces are
written in it."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
import pytest

from app import create_app
from app.catalog.upkeep import commit_catalog_change, create_bundle, put_synonym
from app.certificates.tokens import generate_signing_key, key_to_pem
from app.extensions import db
from tests import factories as make
from tests.api.world import department_headers
from tests.conftest import SECRETS
from tests.personal_numbers import new_id_number

DOCUMENT = "/api/v1/openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")
# Answers about the state of things, not about the request's form: they may follow.
STATE_ANSWERS = {404, 409}


def _documented_operations() -> list[tuple[str, str]]:
    pem = key_to_pem(generate_signing_key()).decode()
    scratch = create_app({**SECRETS, "TESTING": True, "DATABASE_URL": "sqlite://",
                          "REDIS_URL": "", "LOG_FORMAT": "text", "SIGNING_KEY_PEM": pem})
    paths = scratch.test_client().get(DOCUMENT).get_json()["paths"]
    return [(method, path) for path, item in paths.items() for method in METHODS if method in item]


OPERATIONS = _documented_operations()


@pytest.fixture
def document(client) -> dict[str, Any]:
    return client.get(DOCUMENT).get_json()


@pytest.fixture
def callers(app_context) -> dict[str, dict[str, str]]:
    """The things the document's examples name, and who may call each kind of route.

    The first user and the first certificate get id 1 on an emptied table, the examples' id.
    """
    make.create_theme()
    for code in ("GF00001001", "GF00001002"):
        make.create_item(code=code)
    create_bundle({"code": "B001", "name": "开办企业", "audience": "personal",
                   "items": ["GF00001001", "GF00001002"],
                   "form": {"fields": [{"name": "phone", "label": "电话", "type": "phone"}]}})
    put_synonym("驾照", ["机动车驾驶证"])
    commit_catalog_change()
    make.create_user(name="王芳", id_number=new_id_number())  # a citizen to name as agent
    citizen = make.create_user(name="李明", id_number=new_id_number())
    company = make.create_enterprise(legal_rep=citizen)
    company.uscc = "91530100000000001R"  # the document's example
    db.session.commit()
    make.bind_user(user=citizen, enterprise=company)
    make.issue_certificate(kind=make.create_certificate_type(), holder=citizen)
    return {"citizen": make.auth_headers(citizen), "admin": make.auth_headers(make.create_admin()),
            "verifier": make.auth_headers(make.create_admin(username="checker",
                                                            roles=("verifier",)))}


def resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema or "allOf" in schema:
        if "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        else:
            schema = {**schema["allOf"][0], **{k: v for k, v in schema.items() if k != "allOf"}}
    return schema


def example_of(schema: dict[str, Any], document: dict[str, Any], where: str) -> Any:
    """A value built from what the document states of it alone."""
    if "example" in schema:
        return schema["example"]
    schema = resolve(schema, document)
    for stated in ("example", "enum", "default"):
        if stated in schema:
            return schema[stated][0] if stated == "enum" else schema[stated]
    kind = schema.get("type")
    if kind == "object":
        wanted = set(schema.get("required", ()))
        return {name: example_of(inner, document, f"{where}.{name}")
                for name, inner in schema.get("properties", {}).items()
                if name in wanted or "example" in inner or "example" in resolve(inner, document)}
    if kind == "array":
        return [example_of(schema["items"], document, f"{where}[]")] * schema.get("minItems", 1)
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    if schema.get("format") == "date-time":
        return datetime.now(UTC).isoformat(timespec="seconds")
    assert "pattern" not in schema, f"{where}: a pattern without an example"
    return "示例"


def request_of(method: str, path: str, document: dict[str, Any]) -> dict[str, Any]:
    """The path, query and body of a request built from the operation's documentation."""
    item = document["paths"][path]
    operation = item[method]
    url, query = path, {}
    for parameter in [*item.get("parameters", []), *operation.get("parameters", [])]:
        schema, name = parameter["schema"], parameter["name"]
        if parameter["in"] == "path":
            assert "example" in schema, f"{method.upper()} {path}: {name} has no example"
            url = url.replace("{" + name + "}", str(schema["example"]))
        elif parameter["in"] == "query" and (parameter.get("required") or "example" in schema):
            query[name] = example_of(schema, document, name)
    content = operation.get("requestBody", {}).get("content", {})
    body, form = content.get("application/json"), content.get("multipart/form-data")
    return {"path": url, "query_string": query,
            "json": example_of(body["schema"], document, "body") if body else None,
            "files": example_of(form["schema"], document, "body") if form else None}


def headers_for(path: str, operation: dict[str, Any], request: dict[str, Any],
                callers: dict[str, dict[str, str]], method: str) -> dict[str, str]:
    if path.startswith("/api/v1/integrations/"):
        return department_headers(method.upper(), request["path"],
                                  json.dumps(request["json"]).encode())
    if path.startswith("/api/v1/admin/"):
        return callers["admin"]
    if path.startswith("/api/v1/verifications"):
        return callers["verifier"]
    return callers["citizen"] if operation.get("security") else {}


def refusal(response, path: str) -> str | None:
    """Why the answer refuses the request for its form, if it does."""
    body = response.get_json(silent=True) or {}
    if response.status_code < 400 or response.status_code in STATE_ANSWERS:
        return None
    # Logging in with an example code or password is refused for the credentials, not the form.
    if response.status_code == 401 and path.startswith("/api/v1/auth/"):
        return None
    if response.status_code == 422 and body.get("error") != "validation_error":
        return None  # a domain's own verdict (e.g. a WeChat code that is not WeChat's)
    return f"{response.status_code} {json.dumps(body, ensure_ascii=False)}"


@pytest.mark.parametrize(("method", "path"), OPERATIONS,
                         ids=[f"{m.upper()} {p}" for m, p in OPERATIONS])
def test_a_request_built_from_the_document_alone_is_accepted(client, document, callers,
                                                             method, path):
    request = request_of(method, path, document)
    headers = headers_for(path, document["paths"][path][method], request, callers, method)
    sent = {"query_string": request["query_string"], "headers": headers}
    if request["json"] is not None:
        sent["data"] = json.dumps(request["json"])  # exactly the signed bytes
        sent["content_type"] = "application/json"
    if request["files"] is not None:  # each part's example is the file's content
        sent["data"] = {name: (io.BytesIO(value.encode()), name)
                        for name, value in request["files"].items()}
        sent["content_type"] = "multipart/form-data"
    response = client.open(request["path"], method=method.upper(), **sent)
    assert refusal(response, path) is None, (request, refusal(response, path))


def test_region_codes_are_stated_as_codes_of_the_region_table(document):
    schemas = document["components"]["schemas"]
    in_bodies = [schemas["Visit"]["properties"]["region"],
                 schemas["ItemIn"]["properties"]["regions"]["items"]]
    in_queries = [p["schema"] | {"description": p.get("description", "")}
                  for item in document["paths"].values() for op in item.values()
                  if isinstance(op, dict) for p in op.get("parameters", [])
                  if p["name"] == "region"]
    assert len(in_queries) == 5  # home, services, hot, search, rating stats
    for doc in in_bodies + in_queries:
        assert doc["pattern"] == "^[0-9]{6}$"
        assert "region table" in doc["description"]


@pytest.mark.parametrize(("schema", "field", "rule"), [
    ("BindEnterprise", "uscc", "check character"),
    ("RealName", "id_number", "check character"),
    ("Holder", "id_number", "check character"),
    ("Holder", "uscc", "check character"),
    ("ItemIn", "code", "item type"),
])
def test_identifiers_state_their_pattern_and_check_rule(document, schema, field, rule):
    doc = document["components"]["schemas"][schema]["properties"][field]
    assert doc["pattern"].startswith("^") and doc["pattern"].endswith("$")
    assert rule in doc["description"]


def fields_of(schema: ma.Schema) -> list[tuple[str, ma.fields.Field]]:
    """(dotted name, field) for every field of a schema and of the schemas nested in it."""
    found = []
    for name, field in schema.load_fields.items():
        while isinstance(field, ma.fields.List):
            field = field.inner
        found.append((name, field))
        if isinstance(field, ma.fields.Nested):
            found += [(f"{name}.{inner}", f) for inner, f in fields_of(field.schema)]
    return found


def test_integers_in_bodies_refuse_what_is_not_an_integer(app, client, callers):
    integers = {f"{type(parameter['schema']).__name__}.{name}": field.strict
                for view in app.view_functions.values()
                for parameter in getattr(view, "_apidoc", {}).get("arguments", {})
                .get("parameters", []) if parameter["in"] == "json"
                for name, field in fields_of(parameter["schema"])
                if isinstance(field, ma.fields.Integer)}
    assert "ThemeInSchema.sort_order" in integers and "ItemInSchema.materials.copies" in integers
    assert [name for name, strict in integers.items() if not strict] == []
    response = client.post("/api/v1/admin/themes", headers=callers["admin"],
                           json={"code": "elderly_care", "name": "养老服务", "sort_order": 1.5})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"sort_order": ["应为整数"]}


def test_bodies_are_required_unless_the_route_says_otherwise(document):
    optional = sorted(f"{method.upper()} {path}" for path, item in document["paths"].items()
                      for method, op in item.items()
                      if isinstance(op, dict) and "requestBody" in op
                      and not op["requestBody"].get("required"))
    assert optional == ["POST /api/v1/services/{code}/visits"]


def test_department_routes_state_the_signature_headers(document):
    operation = document["paths"]["/api/v1/integrations/certificates"]["post"]
    headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
    assert set(headers) == {"X-Department-Key", "X-Timestamp", "X-Signature"}
    assert all(p["required"] for p in headers.values())
    assert headers["X-Timestamp"]["schema"]["pattern"] == "^[0-9]{1,12}$"


def test_ids_in_paths_are_documented_as_64_bit_integers(document):
    parameter = document["paths"]["/api/v1/me/certificates/{certificate_id}"]["parameters"][0]
    assert parameter["schema"]["type"] == "integer"
    assert (parameter["schema"]["minimum"], parameter["schema"]["maximum"]) == (1, 2**63 - 1)
