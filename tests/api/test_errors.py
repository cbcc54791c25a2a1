"""Every error a client can cause answers in the one shape."""

from __future__ import annotations

import logging
from datetime import timedelta

import marshmallow as ma
import pytest
from flask import Flask
from flask_jwt_extended import create_access_token, jwt_required
from flask_smorest import Blueprint

from app.api import api
from app.api.rate_limits import limit_by_ip
from app.api.schemas import RequestSchema
from app.platform.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthenticated,
    Unavailable,
)
from tests.conftest import CLOSED_MYSQL_URL, ERROR_SHAPE

DOMAIN_ERRORS = {
    "invalid": InvalidInput("region", "行政区划代码应为 6 位数字", ["not a region"]),
    "unauthenticated": Unauthenticated("登录凭证已失效", error="token_revoked"),
    "forbidden": Forbidden(),
    "not_found": NotFound("证照不存在"),
    "conflict": Conflict("该证照编号已存在", error="duplicate_number"),
    "rate_limited": RateLimited(retry_after_seconds=42),
    "unavailable": Unavailable("微信服务繁忙，请稍后再试"),
}


class _EchoSchema(RequestSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=2, max=30))


def _add_test_routes(app: Flask) -> None:
    blp = Blueprint("error_probe", __name__, url_prefix="/api/v1/_probe")

    @blp.post("/echo")
    @blp.arguments(_EchoSchema)
    def echo(body: dict) -> dict:
        return body

    @blp.get("/boom")
    def boom() -> dict:
        raise RuntimeError("secret internals: password=hunter2")

    @blp.get("/protected")
    @jwt_required()
    def protected() -> dict:
        return {"ok": True}

    @blp.get("/domain/<kind>")
    def domain_error(kind: str) -> dict:
        raise DOMAIN_ERRORS[kind]

    @blp.get("/limited")
    @limit_by_ip("probe", limit=2, window_seconds=60)
    def limited() -> dict:
        return {"ok": True}

    with app.app_context():
        api.register_blueprint(blp)


@pytest.fixture
def probe_client(app, make_app):
    probe_app = make_app()
    _add_test_routes(probe_app)
    return probe_app.test_client()


def assert_error_shape(response, status: int, error: str) -> dict:
    body = response.get_json()
    assert response.status_code == status
    assert set(body) >= ERROR_SHAPE
    assert body["code"] == status
    assert body["error"] == error
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body


def test_unknown_path_is_404_in_the_one_shape(client):
    assert_error_shape(client.get("/api/v1/no-such-thing"), 404, "not_found")


def test_wrong_method_is_405_with_allowed_methods(client):
    response = client.delete("/healthz")
    assert_error_shape(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_invalid_query_parameter_is_422_naming_the_field(client):
    body = assert_error_shape(client.get("/api/v1/themes?audience=martians"), 422,
                              "validation_error")
    assert list(body["errors"]) == ["audience"]


def test_invalid_json_body_is_422_naming_each_field(probe_client):
    response = probe_client.post("/api/v1/_probe/echo", json={"name": "x", "extra": 1})
    body = assert_error_shape(response, 422, "validation_error")
    assert set(body["errors"]) == {"name", "extra"}


def test_body_that_is_not_json_is_a_4xx_not_a_500(probe_client):
    response = probe_client.post("/api/v1/_probe/echo", data="{not json",
                                 content_type="application/json")
    assert 400 <= response.status_code < 500
    assert set(response.get_json()) >= ERROR_SHAPE


def test_missing_token_is_401_unauthorized(probe_client):
    assert_error_shape(probe_client.get("/api/v1/_probe/protected"), 401, "unauthorized")


def test_garbage_token_is_401_unauthorized(probe_client):
    response = probe_client.get("/api/v1/_probe/protected",
                                headers={"Authorization": "Bearer not.a.token"})
    assert_error_shape(response, 401, "unauthorized")


def test_expired_token_is_401_token_expired(probe_client):
    with probe_client.application.app_context():
        token = create_access_token("1", expires_delta=timedelta(seconds=-60))
    response = probe_client.get("/api/v1/_probe/protected",
                                headers={"Authorization": f"Bearer {token}"})
    assert_error_shape(response, 401, "token_expired")


def test_too_many_calls_are_429_with_retry_after(probe_client):
    for _ in range(2):
        assert probe_client.get("/api/v1/_probe/limited").status_code == 200
    response = probe_client.get("/api/v1/_probe/limited")
    assert_error_shape(response, 429, "rate_limited")
    assert 1 <= int(response.headers["Retry-After"]) <= 60


def test_unhandled_exception_is_500_without_internals_and_is_logged(probe_client, caplog):
    with caplog.at_level(logging.ERROR):
        response = probe_client.get("/api/v1/_probe/boom", headers={"X-Request-ID": "req-500"})
    body = assert_error_shape(response, 500, "internal_error")
    assert "hunter2" not in response.get_data(as_text=True)
    assert body["request_id"] == "req-500"
    logged = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert logged and logged[0].request_id == "req-500"


def test_database_route_is_503_when_the_database_is_unreachable(make_app):
    offline = make_app(DATABASE_URL=CLOSED_MYSQL_URL, REDIS_URL="")
    response = offline.test_client().get("/api/v1/themes")
    assert_error_shape(response, 503, "unavailable")
    assert response.headers["Retry-After"]


def test_validation_messages_are_chinese_and_name_the_fields(probe_client):
    body = probe_client.post("/api/v1/_probe/echo", json={"extra": 1}).get_json()
    assert body["message"] == "请求参数有误：extra、name"
    assert body["errors"] == {"name": ["此项必填"], "extra": ["未知字段"]}


@pytest.mark.parametrize(("kind", "status", "error", "message"), [
    ("invalid", 422, "validation_error", "行政区划代码应为 6 位数字"),
    ("unauthenticated", 401, "token_revoked", "登录凭证已失效"),
    ("forbidden", 403, "forbidden", "无权进行此操作"),
    ("not_found", 404, "not_found", "证照不存在"),
    ("conflict", 409, "duplicate_number", "该证照编号已存在"),
    ("rate_limited", 429, "rate_limited", "请求过于频繁，请稍后再试"),
    ("unavailable", 503, "unavailable", "微信服务繁忙，请稍后再试"),
])
def test_domain_errors_answer_in_the_one_shape_with_their_status(probe_client, kind, status,
                                                                 error, message):
    body = assert_error_shape(probe_client.get(f"/api/v1/_probe/domain/{kind}"), status, error)
    assert body["message"] == message


def test_invalid_input_names_its_field_with_the_details():
    body = DOMAIN_ERRORS["invalid"]
    assert body.errors == {"region": ["not a region"]}


def test_domain_errors_that_say_when_to_retry_send_retry_after(probe_client):
    assert probe_client.get("/api/v1/_probe/domain/rate_limited").headers["Retry-After"] == "42"
    assert probe_client.get("/api/v1/_probe/domain/unavailable").headers["Retry-After"] == "5"
    assert "Retry-After" not in probe_client.get("/api/v1/_probe/domain/conflict").headers
