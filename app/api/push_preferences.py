"""The caller's push preferences: muted categories, quiet hours, WeChat messages on or off."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask_jwt_extended import current_user

from app.api.permissions import user_required
from app.api.request_bodies import Blueprint
from app.api.schemas import RequestSchema
from app.extensions import db
from app.push.preferences import CATEGORY, CLOCK, MAX_MUTED, preferences_of, set_preferences

blp = Blueprint("push_preferences", __name__, url_prefix="/api/v1/me/push-preferences",
                description="What the caller lets the system push")
Str = ma.fields.String


class QuietHoursSchema(RequestSchema):
    start = Str(required=True, validate=ma.validate.Regexp(CLOCK.pattern),
                metadata={"description": "HH:MM, China time", "example": "22:00"})
    end = Str(required=True, validate=ma.validate.Regexp(CLOCK.pattern),
              metadata={"description": "HH:MM, China time",
                        "example": "07:00"})

    @ma.validates_schema
    def distinct(self, data: dict, **kwargs: Any) -> None:
        if data.get("start") is not None and data.get("start") == data.get("end"):
            raise ma.ValidationError("免打扰的开始与结束时刻不能相同", "end")


class PushPreferencesSchema(RequestSchema):
    muted_categories = ma.fields.List(
        Str(validate=ma.validate.Regexp(CATEGORY.pattern), metadata={"example": "pension"}),
        required=True, validate=ma.validate.Length(max=MAX_MUTED),
        metadata={"description": "push categories the caller receives nothing of"})
    quiet_hours = ma.fields.Nested(QuietHoursSchema, required=True, allow_none=True, metadata={
        "description": "a window of China time without pushes (an end before the start"
                       " runs past midnight); null: none",
        "example": {"start": "22:00", "end": "07:00"}})
    wechat_enabled = ma.fields.Boolean(required=True)


@blp.get("")
@user_required
@blp.response(200, PushPreferencesSchema)
def get_push_preferences() -> dict:
    """The caller's push preferences (defaults until they set them)."""
    return preferences_of(current_user)


@blp.put("")
@user_required
@blp.arguments(PushPreferencesSchema())
@blp.response(200, PushPreferencesSchema)
def put_push_preferences(body: dict) -> dict:
    """Replace the caller's push preferences; a muted category's pushes stop reaching them at
    once, previews included."""
    preferences = set_preferences(current_user, **body)
    db.session.commit()
    return preferences
