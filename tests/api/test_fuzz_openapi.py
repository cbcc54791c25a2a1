"""Every operation of the OpenAPI document, fuzzed by schemathesis as each kind of caller
(anonymous, a citizen, an enterprise's agent, an admin with every role; department systems
sign partner routes): no server error, answers as the document describes them (status,
content type, body schema), and every failure in the one error shape.

The operations come from the document itself, so a new route is fuzzed from its first day.
Each operation and role draws a fixed-seed set of requests (see fuzz_inputs.py); `pytest -rP`
shows the statuses each operation met.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, seed, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.python._constants.orchestrator import build_constants_pool
from schemathesis.python._constants.pool import ConstantsPool
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from app.api.errors import error_response
from app.certificates.tokens import generate_signing_key, key_to_pem
from app.models.admin import ACCOUNT_ROLES
from tests.api.fuzz_inputs import FuzzRequest, fuzz_requests, send
from tests.api.world import World, api_routes, build_world
from tests.conftest import ERROR_SHAPE, SECRETS
from tests.personal_numbers import find_leaks, watched

DOCUMENT = "/api/v1/openapi.json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ROLES = ("anonymous", "citizen", "agent", "admin")
# Who plays each role in the world: the citizen owns certificates and an enterprise, the agent
# acts for that enterprise, the admin holds every admin role and `verifier`.
CALLER_OF_ROLE = {"anonymous": "anonymous", "citizen": "owner", "agent": "agent",
                  "admin": "admin"}
PARTNER_PREFIX = "/api/v1/integrations/"
# Bounded so the whole document fuzzes in a couple of minutes.
EXAMPLES_PER_OPERATION = 15
# Endpoints that serve the docs themselves, not the API.
NOT_API = ("static", "api-docs.", "docs_assets.")


def _operations_in(document: dict[str, Any]) -> list[str]:
    return [f"{method.upper()} {path}" for path, item in document["paths"].items()
            for method in item if method in METHODS]


def _documented_operations() -> list[str]:
    """The operations of the document, read at collection from an app built only for that."""
    pem = key_to_pem(generate_signing_key()).decode()
    scratch = create_app({**SECRETS, "TESTING": True, "DATABASE_URL": "sqlite://",
                          "REDIS_URL": "", "LOG_FORMAT": "text", "SIGNING_KEY_PEM": pem})
    return _operations_in(scratch.test_client().get(DOCUMENT).get_json())


OPERATIONS = _documented_operations()


@pytest.fixture(scope="module")
def document(make_app: Callable[..., Flask]) -> dict[str, Any]:
    """The document of a newly built app: tests that add probe routes to the shared Api (see
    test_errors.py) leave them in what older apps serve."""
    return make_app().test_client().get(DOCUMENT).get_json()


@pytest.fixture(scope="module")
def schema(_session_app: Flask, document: dict[str, Any]) -> schemathesis.BaseSchema:
    """The document, with requests going to the app every test cleans up after."""
    loaded = schemathesis.openapi.from_dict(document)
    loaded.app = _session_app
    return loaded


@pytest.fixture(scope="module")
def feedback(schema: schemathesis.BaseSchema) -> FeedbackSources:
    """Literals of the app's source steer generation, except those the leak scan watches for
    (the demo WeChat secret is a configuration default): typed into a field by the fuzzer and
    stored, they would look like a leak of the app's."""
    kept = ConstantsPool()
    for kind in ("string", "integer", "float", "bytes"):
        for entry in build_constants_pool(schema).entries_for(kind):  # type: ignore[arg-type]
            if not find_leaks([str(entry.value)], watched()):
                kept.add(entry)
    return FeedbackSources(constants_value_source=kept)


@pytest.fixture
def world(app: Flask) -> World:
    """The world, with one admin holding every admin role and `verifier`."""
    with app.app_context():
        return build_world(admins={"admin": ACCOUNT_ROLES})


def in_error_shape(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Every failure answers in the one error shape, its `code` the HTTP status (a 304 has no
    body by definition)."""
    if response.status_code < 300 or response.status_code == 304:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        body = response.content[:200]
    assert isinstance(body, dict) and body.keys() >= ERROR_SHAPE, (
        f"{response.status_code} not in the error shape: {body!r}")
    assert body["code"] == response.status_code, body
    return None


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, in_error_shape]


# What a fuzz run raises when it finds something: schemathesis groups its failures in a
# BaseExceptionGroup, Hypothesis raises the rest.
FINDINGS = (Exception, BaseExceptionGroup)


def _described(exc: BaseException) -> str:
    """What Hypothesis and schemathesis found, one failure after another."""
    if isinstance(exc, BaseExceptionGroup) and not str(exc).startswith("Schemathesis"):
        return "\n".join(_described(inner) for inner in exc.exceptions)
    return str(exc)


def fuzz_as(role: str, operation: schemathesis.APIOperation, world: World,
            feedback: FeedbackSources, seen: Counter) -> None:
    """Run the operation's examples with the role's credentials; raise what the checks find."""
    headers = world.headers[CALLER_OF_ROLE[role]]
    # Partner routes take a department's signature instead of a bearer token.
    signs = operation.path.startswith(PARTNER_PREFIX) and role != "anonymous"
    declared = set(operation.responses.status_codes)

    # A fixed seed of its own for each operation and role: CI draws the same requests every
    # run, and the roles do not all draw the same ones.
    @seed(zlib.crc32(f"{operation.label} as {role}".encode()))
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(request=fuzz_requests(operation, world.parameter_values(), feedback))
    def fuzz(request: FuzzRequest) -> None:
        response = send(request, headers, signed=signs)
        status = str(response.status_code)
        seen[status if status in declared else f"{status} (undeclared)"] += 1
        request.case.validate_response(response, checks=CHECKS, headers=headers)

    fuzz()


@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_answers_fuzzed_requests_as_documented(app, schema, feedback, world, label):
    operation = schema.find_operation_by_label(label)
    assert operation is not None, f"{label} is no longer in the document"
    found, seen = [], Counter()
    for role in ROLES:
        try:
            fuzz_as(role, operation, world, feedback, seen)
        except FINDINGS as exc:  # every role's findings, not only the first one's
            found.append(f"as {role}: {_described(exc)}")
    # `pytest -rP` shows what the fuzzer met: statuses, and any the document does not list.
    print(f"{label}: {sum(seen.values())} requests, statuses {dict(sorted(seen.items()))}")
    assert not found, "\n\n".join(found)


def test_every_operation_of_the_document_is_fuzzed(document):
    assert len(OPERATIONS) == len(_operations_in(document))
    assert sorted(OPERATIONS) == sorted(_operations_in(document))


def test_every_route_of_the_app_is_in_the_document(app):
    """A route the document leaves out would never be fuzzed."""
    assert api_routes(app, skip=NOT_API) - set(OPERATIONS) == set()


def _raises(*args: Any, **kwargs: Any) -> None:
    raise RuntimeError("planted")


@pytest.mark.parametrize("endpoint,view,finding", [
    ("themes.get_themes", _raises, "Server error"),
    ("health.healthz", lambda: ("down", 418), "418 not in the error shape"),
    # A 4xx in the one shape, but one the operation does not list: the document has no
    # catch-all response to hide it behind.
    ("themes.get_themes", lambda: error_response(409), "Received: 409"),
])
def test_the_fuzzer_reports_what_it_provokes(app, schema, feedback, world, monkeypatch,
                                             endpoint, view, finding):
    monkeypatch.setitem(app.view_functions, endpoint, view)
    path = next(rule.rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint)
    operation = schema.find_operation_by_label(f"GET {path}")
    with pytest.raises(FINDINGS) as found:
        fuzz_as("anonymous", operation, world, feedback, Counter())
    assert finding in _described(found.value)
