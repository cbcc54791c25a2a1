"""The one error shape, for every failure the API can answer.

`{"code", "status", "error", "message", "errors", "request_id"}`: `error` is a stable snake_case
code clients switch on, `message` is for people (Chinese), `errors` names fields.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import sqlalchemy.exc
from flask import Flask, Response, g, jsonify
from flask_jwt_extended import JWTManager
from werkzeug.exceptions import HTTPException

from app.extensions import db
from app.platform.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    TryAgainLater,
    Unauthenticated,
    Unavailable,
)
from app.platform.readiness import BACKING_SERVICE_ERRORS

log = logging.getLogger(__name__)

ERROR_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求格式有误"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "无权进行此操作"),
    404: ("not_found", "请求的资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    409: ("conflict", "与现有数据冲突"),
    413: ("payload_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "请求内容类型不受支持"),
    422: ("validation_error", "请求参数有误"),
    429: ("rate_limited", "请求过于频繁，请稍后再试"),
    500: ("internal_error", "服务器内部错误，请稍后再试"),
    503: ("unavailable", "服务暂时不可用，请稍后再试"),
}


# Each domain error's status; a subclass takes its nearest listed ancestor's.
STATUS_OF: dict[type[DomainError], int] = {
    InvalidInput: 422,
    Unauthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
    Unavailable: 503,
}


def error_response(status: int, error: str | None = None, message: str | None = None,
                   errors: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
                   **extra: Any) -> Response:
    """Build a response in the one error shape."""
    default_error, default_message = ERROR_CODES.get(status, ("error", "请求失败"))
    body: dict[str, Any] = {
        "code": status,
        "status": HTTPStatus(status).phrase,
        "error": error or default_error,
        "message": message or default_message,
        "request_id": g.get("request_id"),
        **extra,
    }
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _field_errors(messages: Any) -> dict[str, Any]:
    """Flatten webargs' `{location: {field: [...]}}` into `{field: [...]}`."""
    if not isinstance(messages, dict):
        return {"_schema": messages if isinstance(messages, list) else [str(messages)]}
    flat: dict[str, Any] = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


def handle_http_exception(exc: HTTPException) -> Response:
    """Flask's and flask-smorest's HTTP errors (404, 405, webargs' 422, abort()), reshaped."""
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    errors = _field_errors(data["messages"]) if "messages" in data else data.get("errors")
    headers = dict(data.get("headers") or {})
    if getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    message = data.get("message")
    if message is None and status == 422 and isinstance(errors, dict) and errors:
        message = "请求参数有误：" + "、".join(sorted(map(str, errors)))
    return error_response(status, data.get("error"), message, errors, headers)


def status_of(exc: DomainError) -> int:
    """The HTTP status that answers a domain error (400 for one that names no kind)."""
    for kind in type(exc).__mro__:
        if kind in STATUS_OF:
            return STATUS_OF[kind]
    return 400


def handle_domain_error(exc: DomainError) -> Response:
    """A domain error in the one shape, with Retry-After where the domain says when."""
    headers = {}
    if isinstance(exc, TryAgainLater):
        headers["Retry-After"] = str(exc.retry_after_seconds)
    return error_response(status_of(exc), exc.error, exc.message, exc.errors, headers)


def handle_unexpected(exc: Exception) -> Response:
    """Anything else: 503 when a backing service is down, else a logged 500 with no internals."""
    _rollback_quietly()
    if isinstance(exc, sqlalchemy.exc.IntegrityError):
        # A uniqueness race lost to a concurrent request: the checks before it would have said 409.
        log.warning("integrity error: %s", type(exc.orig).__name__)
        return error_response(409, message="数据已存在或已被修改，请刷新后重试")
    if isinstance(exc, BACKING_SERVICE_ERRORS):
        log.error("backing service unavailable: %s", type(exc).__name__)
        return error_response(503, headers={"Retry-After": "5"})
    log.exception("unhandled error")
    return error_response(500)


def _rollback_quietly() -> None:
    try:
        db.session.rollback()
    except Exception:  # the database may be the thing that is down
        log.debug("rollback after error failed", exc_info=True)


def register_jwt_errors(jwt: JWTManager) -> None:
    """Make flask-jwt-extended answer in the one shape instead of its own `{"msg"}`."""

    @jwt.unauthorized_loader
    def missing_token(reason: str) -> Response:
        return error_response(401, "unauthorized", "请先登录")

    @jwt.invalid_token_loader
    def invalid_token(reason: str) -> Response:
        return error_response(401, "unauthorized", "登录凭证无效，请重新登录")

    @jwt.expired_token_loader
    def expired_token(header: dict, payload: dict) -> Response:
        return error_response(401, "token_expired", "登录已过期，请刷新或重新登录")

    @jwt.revoked_token_loader
    def revoked_token(header: dict, payload: dict) -> Response:
        return error_response(401, "token_revoked", "登录凭证已失效，请重新登录")

    @jwt.needs_fresh_token_loader
    def stale_token(header: dict, payload: dict) -> Response:
        return error_response(401, "unauthorized", "请重新登录后再进行此操作")

    @jwt.user_lookup_error_loader
    def unknown_user(header: dict, payload: dict) -> Response:
        return error_response(401, "unauthorized", "账号不存在或已停用")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(Exception, handle_unexpected)
