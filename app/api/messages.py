"""The caller's in-app inbox: push messages, why each reached them, and reading, clicking or
dismissing one."""

from __future__ import annotations

import marshmallow as ma
from flask_jwt_extended import current_user

from app.api.permissions import user_required
from app.api.request_bodies import Blueprint
from app.api.schemas import LocalDateTime, PageQuerySchema, PageSchema
from app.extensions import db
from app.platform.pages import Page
from app.push.inbox import dismiss, mark_clicked, mark_read, message, messages_for

blp = Blueprint("messages", __name__, url_prefix="/api/v1/me/messages",
                description="The caller's in-app push messages")
Str = ma.fields.String


class WhySchema(ma.Schema):
    text = Str(metadata={"description": "for people: the rule's public reason, or the tags"
                                        " below in a sentence",
                         "example": "因为您在昆明市五华区，且机动车驾驶证将于30日内到期"})
    rule = Str(metadata={"description": "the push rule's name"})
    tags = ma.fields.List(Str(), metadata={
        "description": "the caller's current tags the rule's audience names (never sensitive"
                       " ones)", "example": ["region:530102"]})


class TargetSchema(ma.Schema):
    kind = Str(metadata={"description": "what the message leads to", "example": "service"})
    code = Str(allow_none=True, metadata={"example": "GF00001001"})


class MessageSchema(ma.Schema):
    id = Str(metadata={"description": "the push run's id", "example": "1"})
    title = Str()
    body = Str()
    service_code = Str(allow_none=True, metadata={
        "description": "the service item the message leads to, when it leads to one"})
    target = ma.fields.Nested(TargetSchema)
    category = Str(metadata={"description": "the unit the caller can mute",
                             "example": "pension"})
    why = ma.fields.Nested(WhySchema)
    created_at = LocalDateTime()
    read_at = LocalDateTime(allow_none=True)
    clicked_at = LocalDateTime(allow_none=True)


class MessagePageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(MessageSchema))


class MessageQuerySchema(PageQuerySchema):
    unread = ma.fields.Boolean(load_default=False, metadata={
        "description": "true: unread messages only; false: all"})


@blp.get("")
@user_required
@blp.arguments(MessageQuerySchema(), location="query")
@blp.response(200, MessagePageSchema)
def get_messages(query: dict) -> Page:
    """The caller's messages, newest first, without dismissed ones or muted categories."""
    return messages_for(current_user, unread_only=query["unread"], page=query["page"],
                        per_page=query["per_page"])


@blp.get("/<id:message_id>")
@user_required
@blp.response(200, MessageSchema)
def get_message(message_id: int) -> dict:
    """One of the caller's messages; another person's answers as one that does not exist."""
    return message(current_user, message_id)


@blp.post("/<id:message_id>/read")
@user_required
@blp.response(200, MessageSchema)
def post_read(message_id: int) -> dict:
    """Mark the message read; again changes nothing (the first time is kept)."""
    shown = mark_read(current_user, message_id)
    db.session.commit()
    return shown


@blp.post("/<id:message_id>/click")
@user_required
@blp.response(200, MessageSchema)
def post_click(message_id: int) -> dict:
    """The caller followed the message to its service: clicked, and read. Idempotent."""
    shown = mark_clicked(current_user, message_id)
    db.session.commit()
    return shown


@blp.post("/<id:message_id>/dismiss")
@user_required
@blp.response(204)
def post_dismiss(message_id: int) -> None:
    """Remove the message from the caller's inbox; again changes nothing."""
    dismiss(current_user, message_id)
    db.session.commit()
