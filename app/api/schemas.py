"""Schema pieces every resource shares."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import marshmallow as ma
from flask import Response, jsonify

from app.platform.clock import CHINA_TZ


class RequestSchema(ma.Schema):
    """Base of request schemas: unknown fields are refused, not ignored."""

    class Meta:
        unknown = ma.RAISE


class LocalDateTime(ma.fields.DateTime):
    """A datetime written in ISO 8601 with the +08:00 offset users live in."""

    def _serialize(self, value: datetime | None, attr, obj, **kwargs):  # type: ignore[override]
        if value is None:
            return None
        return value.astimezone(CHINA_TZ).isoformat(timespec="seconds")


class PageSchema(ma.Schema):
    """What every paged answer carries beside its `items`."""

    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()


class PageQuerySchema(RequestSchema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=10_000))
    per_page = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


F = TypeVar("F", bound=Callable[..., Any])
# The mark `prebuilt` leaves on a view: the route's answers skip its response schema.
PREBUILT = "prebuilt_answer"


def prebuilt(view: F) -> F:
    """Send what the view returns as it is: the domain already shaped it like the route's
    documented schema. Goes right under `@blp.response`, which passes the finished answer on.

    For the hottest reads: marshmallow's field-by-field dump of lists would cost more than
    the rest of the request. `tests/api/test_response_schemas.py` finds every marked route
    and holds its answers to the declared schema, so the OpenAPI document stays true.
    """

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        return jsonify(view(*args, **kwargs))

    # Every decorator above copies the mark along (functools.wraps), up to the routed view.
    setattr(wrapper, PREBUILT, True)
    return wrapper  # type: ignore[return-value]
