"""Security headers on every answer: routes, errors, 304s, the docs page; HSTS over HTTPS only;
no caching of answers that carry personal data."""

from __future__ import annotations

import re

import pytest

from app.api.security_headers import API_POLICY, PAGE_POLICY
from tests.factories import (
    auth_headers,
    create_admin,
    create_certificate_type,
    create_theme,
    create_user,
    issue_certificate,
)

SAMPLE_VALUES = {"IntegerConverter": 1, "IdConverter": 1, "PathConverter": "swagger-ui.css"}


def assert_secured(response) -> None:
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in headers  # the test client speaks plain HTTP


def every_route(app):
    """(method, url) for each rule: GET where the rule has it, else its first method."""
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        method = "GET" if "GET" in methods else methods[0]
        values = {name: SAMPLE_VALUES.get(type(converter).__name__, "x")
                  for name, converter in rule._converters.items()}
        yield method, adapter.build(rule.endpoint, values, method=method)


def test_every_route_answers_anonymous_callers_with_the_security_headers(app, client):
    seen = set()
    for method, url in every_route(app):
        response = client.open(url, method=method)
        assert_secured(response)
        seen.add(response.status_code)
    assert {200, 401, 404} <= seen  # successes and refusals alike


@pytest.mark.parametrize("method,url,status", [
    ("GET", "/api/v1/no-such-thing", 404), ("DELETE", "/healthz", 405),
    ("POST", "/api/v1/verifications", 401), ("GET", "/api/v1/services?page=0", 422),
])
def test_errors_carry_the_security_headers(client, method, url, status):
    response = client.open(url, method=method)
    assert response.status_code == status
    assert_secured(response)


def test_a_304_carries_the_security_headers(client, app_context):
    create_theme()
    first = client.get("/api/v1/themes")
    again = client.get("/api/v1/themes", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert_secured(again)


def test_an_unexpected_error_carries_the_security_headers(make_app):
    app = make_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert_secured(response)


def test_json_answers_allow_nothing_to_load(client):
    assert client.get("/healthz").headers["Content-Security-Policy"] == API_POLICY
    assert "default-src 'none'" in API_POLICY


def test_the_docs_page_runs_under_a_policy_that_allows_only_its_own_files(client):
    response = client.get("/api/v1/docs")
    page = response.get_data(as_text=True)
    policy = response.headers["Content-Security-Policy"]
    assert policy == PAGE_POLICY
    assert "script-src 'self';" in policy and "unsafe" not in policy
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.DOTALL)
    assert scripts and all('src="' in attributes and not body.strip()
                           for attributes, body in scripts)
    assert not re.search(r"\sstyle=|\son[a-z]+=", page)
    assert "/api/v1/docs/assets/docs-init.js" in page
    init = client.get("/api/v1/docs/assets/docs-init.js")
    assert init.status_code == 200 and "SwaggerUIBundle" in init.get_data(as_text=True)


def test_hsts_is_sent_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = client.get("/healthz", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_hsts_follows_the_scheme_a_trusted_proxy_reports(make_app):
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    behind_proxy = make_app(TRUSTED_PROXIES=1).test_client().get("/healthz", headers=forwarded)
    assert "Strict-Transport-Security" in behind_proxy.headers
    # Without a trusted proxy, anyone could claim https in a header.
    direct = make_app(TRUSTED_PROXIES=0).test_client().get("/healthz", headers=forwarded)
    assert "Strict-Transport-Security" not in direct.headers


def test_answers_with_personal_data_are_never_stored(client, app_context):
    user = create_user(name="李明")
    licence = issue_certificate(kind=create_certificate_type(), holder=user)
    mine = auth_headers(user)
    verifier = auth_headers(create_admin(username="hotel", roles=("verifier",)))
    shown = client.post(f"/api/v1/me/certificates/{licence.id}/presentations", headers=mine,
                        json={"purpose": "酒店入住"})
    answers = [
        client.get("/api/v1/me", headers=mine),
        client.get("/api/v1/me/certificates", headers=mine),
        client.get(f"/api/v1/me/certificates/{licence.id}", headers=mine),
        shown,
        client.post("/api/v1/verifications", headers=verifier,
                    json={"token": shown.get_json()["token"]}),
        client.get("/api/v1/me"),  # refused, but nothing from a personal path is kept
    ]
    assert [a.headers.get("Cache-Control") for a in answers] == ["no-store"] * len(answers)


def test_answers_that_chose_their_caching_keep_it(client, app_context):
    create_theme()
    assert client.get("/.well-known/jwks.json").headers["Cache-Control"] == "public, max-age=60"
    assert client.get("/api/v1/themes").headers["Cache-Control"] == "public, no-cache"
