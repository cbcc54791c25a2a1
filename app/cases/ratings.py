"""好差评: the one rating of a finished case, and the rater's appeal of the rectification it opened.

A case is rated once, by someone who may see it, after its department finished it (approved or
rejected: a withdrawn case was never handled). A bundle's parent case is not rated; its member
cases are, each by the department that handled it. Tags come from the standard lists of the
好差评 system for the rating's polarity. A comment is shown to others, so WeChat's text check
sees it first: a comment WeChat does not pass outright (`risky`, or `review`, which would have
to wait for a person before it could be shown) is refused with `comment_refused`, and the user
may rephrase it; the rating is not kept without its words, as it can be given only once.

A score of 2 or less opens a rectification (整改) for the case's department, due by the end of
the China day RECTIFICATION_WORKING_DAYS working days after the rating; app/cases/
rectifications.py follows it up. Once it has been replied to or closed, the rater may appeal
once, which opens it again with a new due time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from app.cases.lifecycle import china_day, end_of_china_day
from app.cases.reading import visible_case
from app.extensions import db
from app.models import User
from app.models.case import Case, CaseRating, Rectification
from app.platform.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.platform.events import emit
from app.platform.orm import utcnow
from app.platform.working_days import working_calendar
from app.wechat.text_check import check_text

SCORES = range(1, 6)
SCORE_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
# A score at or below this opens a rectification; at or above GOOD_SCORE counts as satisfied.
BAD_SCORE, GOOD_SCORE = 2, 4
# The standard tags of the 好差评 system: praise for a good rating, complaints for a bad one;
# a middling score (3) may take either.
GOOD_TAGS = ("办事效率高", "服务态度好", "一次办成", "材料简便", "流程清晰", "网上办理便捷")
BAD_TAGS = ("办理时间长", "多次跑腿", "材料重复提交", "服务态度差", "流程不清楚", "系统不好用")
ALL_TAGS = GOOD_TAGS + BAD_TAGS
MAX_TAGS = 5
MAX_COMMENT_CHARS = 500
RATEABLE_STATUSES = ("approved", "rejected")
# Reopened by an appeal only once the department has answered.
APPEALABLE_STATUSES = ("replied", "closed")
EVENT_RATED = "case.rated"


def rate(user: User, case_no: str, score: int, tags: Sequence[str] = (), comment: str = "",
         *, now: datetime | None = None) -> tuple[CaseRating, Rectification | None]:
    """Rate a finished case the caller may see, once; a score ≤ 2 opens a rectification.

    404 for a case the caller may not see; 409 `bundle_parent`, `case_not_finished` or
    `already_rated`; 422 naming `score`, `tags` or `comment` (`comment_refused` when WeChat's
    text check does not pass it); 503 when WeChat cannot check the comment now."""
    now = now or utcnow()
    case = visible_case(user, case_no)
    _check_rateable(case)
    if score not in SCORES:
        raise InvalidInput("score", "评分须为 1 到 5 分")
    tags = checked_tags(score, tags)
    comment = comment.strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise InvalidInput("comment", f"评价内容不能超过 {MAX_COMMENT_CHARS} 个字")
    if rating_of(case) is not None:
        raise _already_rated()
    if comment:
        _check_comment(user, comment)
    rating = CaseRating(case_id=case.id, user_id=user.id, score=score, tags=tags,
                        comment=comment, created_at=now)
    try:
        # case_ratings.case_id is unique: of two ratings racing in, the second fails here.
        with db.session.begin_nested():
            db.session.add(rating)
    except IntegrityError:
        raise _already_rated() from None
    rectification = open_rectification(case, rating, now) if score <= BAD_SCORE else None
    emit(EVENT_RATED, case_id=case.id, case_no=case.case_no, service_code=case.service_code,
         score=score, rectification_id=rectification.id if rectification else None)
    return rating, rectification


def _check_rateable(case: Case) -> None:
    if case.kind == "bundle":
        raise Conflict("一件事请对其中各事项的办件分别评价", error="bundle_parent",
                       errors={"case_no": ["bundle parent: rate its member cases"]})
    if case.status not in RATEABLE_STATUSES:
        raise Conflict("办件办结后才能评价", error="case_not_finished",
                       errors={"status": [case.status]})


def _already_rated() -> Conflict:
    return Conflict("该办件已评价过，每件只能评价一次", error="already_rated",
                    errors={"case_no": ["already rated"]})


def checked_tags(score: int, tags: Sequence[str]) -> list[str]:
    """The tags without repeats, each a standard tag of the score's polarity (422 `tags`)."""
    allowed = GOOD_TAGS if score >= GOOD_SCORE else BAD_TAGS if score <= BAD_SCORE else ALL_TAGS
    unique = list(dict.fromkeys(tags))
    wrong = [tag for tag in unique if tag not in allowed]
    if wrong:
        raise InvalidInput("tags", "标签须从该评分的标准标签中选择",
                           [f"不可用的标签：{tag}" for tag in wrong])
    if len(unique) > MAX_TAGS:
        raise InvalidInput("tags", f"最多选择 {MAX_TAGS} 个标签")
    return unique


def _check_comment(user: User, comment: str) -> None:
    verdict = check_text(user.openid, comment)
    if verdict.passed:
        return
    if verdict.suggest == "review":
        message = "评价内容需人工复核，暂不能发布，请修改后再提交"
    else:
        message = "评价内容未通过内容安全检测，请修改后再提交"
    raise InvalidInput("comment", message, [verdict.suggest], error="comment_refused")


def rectification_due(now: datetime) -> datetime:
    """The end of the China day RECTIFICATION_WORKING_DAYS working days after `now`."""
    days = max(1, int(current_app.config["RECTIFICATION_WORKING_DAYS"]))
    return end_of_china_day(working_calendar().add_working_days(china_day(now), days))


def open_rectification(case: Case, rating: CaseRating, now: datetime) -> Rectification:
    """The rectification a bad rating opens for the case's department."""
    rectification = Rectification(case_id=case.id, rating_id=rating.id, status="open",
                                  department=case.department, due_at=rectification_due(now),
                                  created_at=now, updated_at=now)
    db.session.add(rectification)
    db.session.flush()
    return rectification


def rating_of(case: Case) -> CaseRating | None:
    return db.session.scalar(sa.select(CaseRating).where(CaseRating.case_id == case.id))


def rectification_of(case: Case, *, lock: bool = False) -> Rectification | None:
    query = sa.select(Rectification).where(Rectification.case_id == case.id)
    return db.session.scalar(query.with_for_update() if lock else query)


def appeal(user: User, case_no: str, reason: str, *, now: datetime | None = None
           ) -> Rectification:
    """The rater, not satisfied with the answer, reopens the rectification; once only.

    404 for a case the caller may not see; 403 for someone other than the rater; 409
    `no_rectification`, `already_appealed` or `appeal_not_allowed` (not answered yet)."""
    now = now or utcnow()
    case = visible_case(user, case_no)
    rectification = rectification_of(case, lock=True)
    if rectification is None:
        raise Conflict("该办件没有待整改的差评，无需申诉", error="no_rectification",
                       errors={"case_no": ["no rectification"]})
    if rectification.rating.user_id != user.id:
        raise Forbidden("只有评价人可以申诉", error="not_the_rater")
    if rectification.appealed_at is not None:
        raise Conflict("每条差评只能申诉一次", error="already_appealed",
                       errors={"case_no": ["already appealed"]})
    if rectification.status not in APPEALABLE_STATUSES:
        raise Conflict("整改答复后才能申诉", error="appeal_not_allowed",
                       errors={"status": [f"{rectification.status} -> open"]})
    reason = reason.strip()
    if not reason:
        raise InvalidInput("reason", "请填写申诉理由")
    rectification.status = "open"
    rectification.appeal, rectification.appealed_at = reason, now
    rectification.due_at, rectification.closed_at = rectification_due(now), None
    rectification.updated_at = now
    return rectification


def rating_view(rating: CaseRating, rectification: Rectification | None,
                user: User) -> dict[str, Any]:
    """A rating as its case's people see it, with the rectification it opened."""
    return {
        "score": rating.score, "score_label": SCORE_LABELS[rating.score], "tags": rating.tags,
        "comment": rating.comment, "created_at": rating.created_at,
        "rectification": None if rectification is None else {
            "status": rectification.status, "due_at": rectification.due_at,
            "reply": rectification.reply, "replied_at": rectification.replied_at,
            "closed_at": rectification.closed_at, "appeal": rectification.appeal,
            "appealed_at": rectification.appealed_at,
            "can_appeal": (rectification.status in APPEALABLE_STATUSES
                           and rectification.appealed_at is None
                           and rating.user_id == user.id),
        },
    }


def my_rating(user: User, case_no: str) -> tuple[CaseRating, Rectification | None]:
    """The rating of a case the caller may see, and its rectification (404 when unrated)."""
    case = visible_case(user, case_no)
    rating = rating_of(case)
    if rating is None:
        raise NotFound("该办件尚未评价", error="not_rated", errors={"case_no": ["not rated"]})
    return rating, rectification_of(case)
