"""Schema pieces every resource shares."""

from __future__ import annotations

from datetime import datetime

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


def prebuilt(payload: dict) -> Response:
    """Send a payload the domain already shaped like the route's documented schema.

    For the hottest reads: marshmallow's field-by-field dump of lists would cost more than
    the rest of the request. Their tests assert the documented fields.
    """
    return jsonify(payload)
