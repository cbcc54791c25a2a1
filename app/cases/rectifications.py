"""整改: the follow-up of a bad rating by the office that curates services (`catalog_admin`).

    open → assigned → replied → closed
      ╰──────────────↗          (a reply may come without an assignment; reassigning is allowed)
    replied / closed → open     (the rater's one appeal, app/cases/ratings.py)

An action the state machine does not allow is refused (409 `illegal_transition`), naming the
transition. A rectification is overdue while it waits for an answer (open or assigned) past its
due time; once replied to, the department has answered in time or not, and it no longer runs.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import AdminAccount, User
from app.models.case import Case, Rectification
from app.platform.errors import Conflict, InvalidInput, NotFound
from app.platform.orm import utcnow
from app.platform.pages import Page, paginate
from app.privacy.masking import mask_name
from app.privacy.vault import vault

STATUS_LABELS = {"open": "待处理", "assigned": "已交办", "replied": "已答复", "closed": "已办结"}
WAITING = ("open", "assigned")  # for an answer: the due time runs
# action → (statuses it may start from, the status it leads to)
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "assign": (("open", "assigned"), "assigned"),
    "reply": (("open", "assigned"), "replied"),
    "close": (("replied",), "closed"),
}
ACTION_LABELS = {"assign": "交办", "reply": "答复", "close": "办结"}


def overdue_condition(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(Rectification.status.in_(WAITING), Rectification.due_at < now)


def is_overdue(rectification: Rectification, now: datetime) -> bool:
    return rectification.status in WAITING and rectification.due_at < now


def list_rectifications(*, status: str | None = None, department: str | None = None,
                        overdue: bool | None = None, page: int = 1, per_page: int = 20,
                        now: datetime | None = None) -> Page:
    """A page of rectifications, the oldest due time first."""
    now = now or utcnow()
    query = sa.select(Rectification).order_by(Rectification.due_at, Rectification.id)
    if status:
        query = query.where(Rectification.status == status)
    if department:
        query = query.where(Rectification.department == department)
    if overdue is not None:
        late = overdue_condition(now)
        query = query.where(late if overdue else sa.not_(late))
    return paginate(query, page=page, per_page=per_page)


def find_rectification(rectification_id: int, *, lock: bool = False) -> Rectification:
    query = sa.select(Rectification).where(Rectification.id == rectification_id)
    rectification = db.session.scalar(query.with_for_update() if lock else query)
    if rectification is None:
        raise NotFound("整改事项不存在", errors={"rectification_id": ["not found"]})
    return rectification


def follow_up(rectification_id: int, action: str, admin: AdminAccount, *,
              assignee: str | None = None, reply: str | None = None,
              now: datetime | None = None) -> tuple[Rectification, str]:
    """Take one step of the follow-up; (the rectification, the status it came from).

    The row is locked first, so two admins acting at once are applied one after the other
    and the second sees the state the first left."""
    if action not in ACTIONS:
        raise InvalidInput("action", "未知的操作", [f"one of: {', '.join(ACTIONS)}"])
    now = now or utcnow()
    rectification = find_rectification(rectification_id, lock=True)
    sources, target = ACTIONS[action]
    before = rectification.status
    if before not in sources:
        raise Conflict(f"整改事项「{STATUS_LABELS[before]}」时不能{ACTION_LABELS[action]}",
                       error="illegal_transition", errors={"status": [f"{before} -> {target}"]})
    if action == "assign":
        rectification.assignee = _required("assignee", assignee, "请填写承办人")
        rectification.assigned_by_admin_id = admin.id
    elif action == "reply":
        rectification.reply = _required("reply", reply, "请填写答复内容")
        rectification.replied_at = now
    else:
        rectification.closed_at = now
    rectification.status = target
    rectification.updated_at = now
    return rectification, before


def _required(field: str, value: str | None, message: str) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(field, message)
    return text


def views(rectifications: list[Rectification], now: datetime | None = None
          ) -> list[dict[str, Any]]:
    """Rectifications as admins see them: the rater by a masked name only."""
    now = now or utcnow()
    rater_ids = {r.rating.user_id for r in rectifications if r.rating.user_id is not None}
    raters = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(rater_ids)))}
    return [_view(r, raters.get(r.rating.user_id), now) for r in rectifications]


def _view(rectification: Rectification, rater: User | None, now: datetime) -> dict[str, Any]:
    case: Case = rectification.case
    rating = rectification.rating
    return {
        "id": str(rectification.id), "case_no": case.case_no,
        "service": {"code": case.service_code, "name": case.service_name},
        "department": rectification.department, "region_code": case.region_code,
        "status": rectification.status, "status_label": STATUS_LABELS[rectification.status],
        "due_at": rectification.due_at, "overdue": is_overdue(rectification, now),
        "assignee": rectification.assignee, "reply": rectification.reply,
        "replied_at": rectification.replied_at, "closed_at": rectification.closed_at,
        "appeal": rectification.appeal, "appealed_at": rectification.appealed_at,
        "created_at": rectification.created_at, "updated_at": rectification.updated_at,
        "rating": {"score": rating.score, "tags": rating.tags, "comment": rating.comment,
                   "created_at": rating.created_at,
                   "rater_name_masked": _masked_name(rater)},
    }


def _masked_name(user: User | None) -> str | None:
    # Decrypted only to be masked at once: admins never see the rater's name in full.
    if user is None or not user.real_name_enc:
        return None
    return mask_name(vault().decrypt(user.real_name_enc, "user.real_name"))
