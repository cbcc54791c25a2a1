"""好差评 by citizens: rate a finished case once, read the rating and its rectification, appeal."""

from __future__ import annotations

import functools

import marshmallow as ma
from flask_jwt_extended import current_user

from app.api.docs import ErrorSchema
from app.api.permissions import user_required
from app.api.request_bodies import Blueprint
from app.api.schemas import LocalDateTime, RequestSchema
from app.cases.ratings import (
    ALL_TAGS,
    BAD_TAGS,
    GOOD_TAGS,
    MAX_COMMENT_CHARS,
    MAX_TAGS,
    appeal,
    my_rating,
    rate,
    rating_view,
)
from app.extensions import db
from app.models.case import RECTIFICATION_STATUSES

blp = Blueprint("case_ratings", __name__, url_prefix="/api/v1",
                description="好差评: rate a finished case, follow its rectification, appeal")
# Strict: 4.5, "4" and true are refused, not truncated or read as integers.
Int = functools.partial(ma.fields.Integer, strict=True)


class RatingInSchema(RequestSchema):
    score = Int(required=True, validate=ma.validate.Range(min=1, max=5), metadata={
        "description": "5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意; 2 or less opens"
                       " a rectification", "example": 5})
    tags = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(ALL_TAGS)), load_default=list,
        validate=ma.validate.Length(max=MAX_TAGS),
        metadata={"description": f"standard tags: for a score of 4-5 {'、'.join(GOOD_TAGS)}; for"
                                 f" 1-2 {'、'.join(BAD_TAGS)}; a 3 may take either",
                  "example": ["办事效率高"]})
    comment = ma.fields.String(load_default="",
                               validate=ma.validate.Length(max=MAX_COMMENT_CHARS),
                               metadata={"description": "shown to others once WeChat's text"
                                                        " check passes it"})


class AppealInSchema(RequestSchema):
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=500),
                              metadata={"example": "答复未解决问题"})


class RatingRectificationSchema(ma.Schema):
    status = ma.fields.String(metadata={"enum": list(RECTIFICATION_STATUSES)})
    due_at = LocalDateTime()
    reply = ma.fields.String(metadata={"description": "the department's answer"})
    replied_at = LocalDateTime(allow_none=True)
    closed_at = LocalDateTime(allow_none=True)
    appeal = ma.fields.String()
    appealed_at = LocalDateTime(allow_none=True)
    can_appeal = ma.fields.Boolean(metadata={
        "description": "the caller rated the case, it has been answered, and it was not"
                       " appealed yet"})


class CaseRatingSchema(ma.Schema):
    score = ma.fields.Integer()
    score_label = ma.fields.String(metadata={"example": "非常满意"})
    tags = ma.fields.List(ma.fields.String())
    comment = ma.fields.String()
    created_at = LocalDateTime()
    rectification = ma.fields.Nested(RatingRectificationSchema, allow_none=True, metadata={
        "description": "the follow-up a score of 2 or less opened"})


@blp.post("/cases/<case_no:case_no>/rating")
@user_required
@blp.arguments(RatingInSchema())
@blp.response(201, CaseRatingSchema)
@blp.alt_response(404, schema=ErrorSchema,
                  description="no such case, or one the caller may not see")
@blp.alt_response(409, schema=ErrorSchema,
                  description="not finished (`case_not_finished`), rated before"
                              " (`already_rated`), or a bundle's parent (`bundle_parent`: rate"
                              " its member cases)")
@blp.alt_response(422, schema=ErrorSchema,
                  description="a tag not of the score's standard list (`tags`), or a comment"
                              " WeChat's text check does not pass (`comment_refused`)")
def post_rating(body: dict, case_no: str) -> tuple[dict, int]:
    """Rate a case finished as approved or rejected, once (好差评); a score of 2 or less opens
    a rectification for the case's department."""
    rating, rectification = rate(current_user, case_no, body["score"], body["tags"],
                                 body["comment"])
    db.session.commit()
    return rating_view(rating, rectification, current_user), 201


@blp.get("/cases/<case_no:case_no>/rating")
@user_required
@blp.response(200, CaseRatingSchema)
@blp.alt_response(404, schema=ErrorSchema,
                  description="no such case the caller may see, or it is not rated (`not_rated`)")
def get_rating(case_no: str) -> dict:
    """The case's rating and how its rectification stands: the department's answer, and
    whether the caller may appeal it."""
    rating, rectification = my_rating(current_user, case_no)
    return rating_view(rating, rectification, current_user)


@blp.post("/cases/<case_no:case_no>/rating/appeal")
@user_required
@blp.arguments(AppealInSchema())
@blp.response(200, CaseRatingSchema)
@blp.alt_response(403, schema=ErrorSchema,
                  description="the caller is not the one who rated the case (`not_the_rater`)")
@blp.alt_response(404, schema=ErrorSchema, description="no such case the caller may see")
@blp.alt_response(409, schema=ErrorSchema,
                  description="no rectification (`no_rectification`), not answered yet"
                              " (`appeal_not_allowed`), or appealed before (`already_appealed`)")
def post_appeal(body: dict, case_no: str) -> dict:
    """The rater, not satisfied with the answer, reopens the rectification; once only."""
    rectification = appeal(current_user, case_no, body["reason"])
    db.session.commit()
    return rating_view(rectification.rating, rectification, current_user)
