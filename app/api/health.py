"""Liveness and readiness probes, at the root for load balancers and orchestrators."""

from __future__ import annotations

import marshmallow as ma
from flask import Response

from app.api.errors import error_response
from app.api.request_bodies import Blueprint
from app.platform.readiness import check_services

blp = Blueprint("health", __name__, url_prefix="/", description="Process health")


class HealthSchema(ma.Schema):
    status = ma.fields.String(metadata={"example": "ok"})


class ReadySchema(HealthSchema):
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict())


@blp.get("/healthz")
@blp.response(200, HealthSchema)
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@blp.get("/readyz")
@blp.response(200, ReadySchema)
@blp.alt_response(503, schema=ReadySchema, description="a backing service is unreachable")
def readyz() -> dict | Response:
    """The database and Redis answer."""
    checks = check_services()
    down = sorted(name for name, check in checks.items() if check["status"] != "ok")
    if down:
        names = {"database": "数据库", "redis": "缓存服务"}
        return error_response(
            503, message="、".join(names[n] for n in down) + "暂时不可用",
            errors={name: ["unavailable"] for name in down},
            headers={"Retry-After": "5"}, checks=checks)
    return {"status": "ok", "checks": checks}
