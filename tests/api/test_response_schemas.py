"""Answers sent as the domain shaped them (`@prebuilt`, for speed) still match the response
schema their route declares, so the OpenAPI document tells the truth about them."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path
from typing import Any

import marshmallow as ma
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.api.schemas import PREBUILT
from app.catalog.hot import record_use
from app.extensions import db
from app.models import User
from app.seed import seed_demo
from tests.factories import auth_headers

API = Path(__file__).resolve().parents[2] / "app" / "api"
# Where JSON answers may be built by hand: `prebuilt` itself, the error shape, the micro-cache.
BUILDS_ANSWERS = {"schemas.py", "errors.py", "http_cache.py"}


def violations(schema: ma.Schema, body: Any, where: str = "") -> list[str]:
    """Where `body` strays from `schema`: a key it does not declare, a null it does not allow,
    a value outside its enum, or one its field would not write back the same."""
    if not isinstance(body, dict):
        return [f"{where or '/'}: {body!r} is not an object"]
    fields = {field.data_key or name: field for name, field in schema.dump_fields.items()}
    found = []
    for key, value in body.items():
        if key in fields:
            found += _field_violations(fields[key], value, f"{where}/{key}")
        else:
            found.append(f"{where}/{key}: not declared by {type(schema).__name__}")
    return found


def _each(field: ma.fields.Field, values: Any, where: str, kind: type) -> list[str]:
    if not isinstance(values, kind):
        return [f"{where}: {values!r} is not a {kind.__name__}"]
    pairs = values.items() if isinstance(values, dict) else enumerate(values)
    return [v for key, value in pairs for v in _field_violations(field, value, f"{where}/{key}")]


def _field_violations(field: ma.fields.Field, value: Any, where: str) -> list[str]:
    if value is None:
        return [] if field.allow_none else [f"{where}: null where the schema allows none"]
    if isinstance(field, ma.fields.Nested):
        if not field.many:
            return violations(field.schema, value, where)
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not a list"]
        return [v for i, item in enumerate(value)
                for v in violations(field.schema, item, f"{where}/{i}")]
    if isinstance(field, ma.fields.List):
        return _each(field.inner, value, where, list)
    if isinstance(field, ma.fields.Dict):
        return _each(field.value_field, value, where, dict) if field.value_field else (
            [] if isinstance(value, dict) else [f"{where}: {value!r} is not an object"])
    try:
        written = field.serialize("value", {"value": field.deserialize(value)})
    except ma.ValidationError as exc:
        return [f"{where}: {value!r}: {exc.messages}"]
    enum = field.metadata.get("enum")
    if enum is not None and value not in enum:
        return [f"{where}: {value!r} is not one of {enum}"]
    numeric = isinstance(field, ma.fields.Float) and isinstance(value, int)
    if written != value or (type(written) is not type(value) and not numeric):
        return [f"{where}: {value!r} would be written as {written!r}"]
    return []


def declared_schema(view: Callable[..., Any]) -> ma.Schema:
    """The schema a route's `@blp.response` declares for its success status."""
    doc = view._apidoc  # type: ignore[attr-defined]  (where flask-smorest keeps it)
    (status,) = doc["success_status_codes"]
    return doc["response"]["responses"][status][0]["schema"]


def prebuilt_endpoints(app: Flask) -> set[str]:
    return {endpoint for endpoint, view in app.view_functions.items()
            if getattr(view, PREBUILT, False)}


@pytest.fixture
def demo(app_context) -> dict[str, dict[str, str]]:
    """The demo, with uses recorded, a favourite and a recent item: every list has something."""
    seed_demo()
    for code, region, times in (("JF00101002", "530102", 3), ("QR00102001", "530111", 2)):
        record_use(code, region, "personal", times)
    users = {user.openid: user for user in db.session.scalars(sa.select(User).where(
        User.openid.in_(["demo-citizen-1", "demo-legal-rep-1"])))}
    return {"anonymous": {}, "citizen": auth_headers(users["demo-citizen-1"]),
            "legal_rep": auth_headers(users["demo-legal-rep-1"])}


def item_codes(client: FlaskClient) -> list[str]:
    return [item["code"] for item in
            client.get("/api/v1/services", query_string={"per_page": 100}).get_json()["items"]]


def home_requests(client: FlaskClient, callers: dict[str, dict[str, str]]) -> list[tuple]:
    code = item_codes(client)[0]
    client.put(f"/api/v1/me/favorites/{code}", headers=callers["citizen"])
    client.post(f"/api/v1/services/{code}/visits", headers=callers["citizen"], json={})
    return [(path, headers) for headers in callers.values()
            for path in ("/api/v1/home", "/api/v1/home?audience=enterprise",
                         "/api/v1/home?region=530300")]


# Every prebuilt route, and requests that make it answer with demo data.
SAMPLE_REQUESTS: dict[str, Callable[[FlaskClient, dict], list[tuple[str, dict]]]] = {
    "themes.get_themes": lambda client, callers: [
        (f"/api/v1/themes{query}", {}) for query in ("", "?audience=personal",
                                                     "?audience=enterprise")],
    "services.get_hot": lambda client, callers: [
        (f"/api/v1/services/hot{query}", {}) for query in (
            "", "?region=530102", "?region=530102&audience=enterprise&limit=50")],
    "services.get_guide": lambda client, callers: [
        (f"/api/v1/services/{code}", {}) for code in item_codes(client)],
    "home.get_home": home_requests,
}


def test_every_prebuilt_route_has_sample_requests_here(app):
    assert prebuilt_endpoints(app) == set(SAMPLE_REQUESTS)


@pytest.mark.parametrize("endpoint", sorted(SAMPLE_REQUESTS))
def test_prebuilt_answers_match_the_declared_response_schema(app, client, demo, endpoint):
    schema = declared_schema(app.view_functions[endpoint])
    requests = SAMPLE_REQUESTS[endpoint](client, demo)
    assert requests
    for path, headers in requests:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.get_json())
        assert violations(schema, response.get_json()) == [], path


def test_the_check_finds_undeclared_keys_nulls_and_wrong_types():
    class Inner(ma.Schema):
        code = ma.fields.String()
        count = ma.fields.Integer()

    class Outer(ma.Schema):
        items = ma.fields.List(ma.fields.Nested(Inner))
        kind = ma.fields.String(metadata={"enum": ["a", "b"]})

    assert violations(Outer(), {"items": [{"code": "x", "count": 1}], "kind": "a"}) == []
    assert violations(Outer(), {"items": [{"code": "x", "extra": 1}, {"count": "2"}],
                                "kind": "c", "more": None}) == [
        "/items/0/extra: not declared by Inner", "/items/1/count: '2' would be written as 2",
        "/kind: 'c' is not one of ['a', 'b']", "/more: not declared by Outer"]
    assert violations(Outer(), {"items": None}) == ["/items: null where the schema allows none"]


def test_views_answer_through_their_schema_or_prebuilt_not_by_hand():
    handmade = []
    for path in sorted(API.rglob("*.py")):
        if path.name in BUILDS_ANSWERS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in {"jsonify", "make_response", "Response"}):
                handmade.append(f"{path.relative_to(API)}:{node.lineno}")
    assert handmade == []
