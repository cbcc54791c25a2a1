"""Moves reported from outside the applicant's phone: department events, withdrawal, and a
bundle's parent case following its members."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.cases.lifecycle import (
    EVENT_FINISHED,
    EVENT_MOVED,
    STATUS_LABELS,
    event_payload,
    is_overdue,
    move,
    timeline,
)
from app.cases.reading import visible_case
from app.extensions import db
from app.models import User
from app.models.case import FINISHED_STATUSES, Case
from app.platform.errors import Conflict, NotFound
from app.platform.events import emit
from app.platform.idempotency import once
from app.platform.orm import utcnow

# A bundle's parent shows the least advanced of its open members; one waiting for the
# applicant's supplement shows first, as it is the one the applicant must act on.
PARENT_ORDER = ("supplement_requested", "submitted", "accepted", "in_review")


def _locked(case_no: str) -> Case:
    case = db.session.scalar(sa.select(Case).where(Case.case_no == case_no).with_for_update())
    if case is None:
        raise NotFound("办件不存在", errors={"case_no": ["not found"]})
    return case


def department_event(key_id: str, case_no: str, body: dict[str, Any]) -> tuple[int, dict]:
    """Apply a department's status event once, by its event id; a repeat gets the first answer.

    The case row is locked first, so two deliveries of one event (or two events of one case)
    are applied one after the other, never interleaved."""
    case = _locked(case_no)
    if case.kind == "bundle":
        raise Conflict("一件事的总办件由各事项办件汇总，请对事项办件报送状态",
                       error="bundle_parent", errors={"case_no": ["bundle parent"]})

    def act() -> tuple[int, dict[str, Any]]:
        node = move(case, body["status"], source="department", name=body.get("node"),
                    at=body["at"], note=body.get("note") or "",
                    department=body.get("department") or "", event_id=body["event_id"])
        follow_parent(case)
        return 200, {"case_no": case.case_no, "status": case.status,
                     "node": {"name": node.name, "status": node.status,
                              "at": node.at.isoformat()},
                     "nodes": len(case.nodes)}

    status, answer = once(key_id, body["event_id"], "case_event", act)
    if answer.get("case_no") != case.case_no:
        # The first answer belongs to another case: the department reused the event id.
        raise Conflict("事件编号已用于其他办件", error="event_id_reused",
                       errors={"event_id": ["used for another case"]})
    return status, answer


def withdraw(user: User, case_no: str, reason: str = "") -> Case:
    """The applicant (for an enterprise: anyone acting for it in cases) takes back a case not
    yet accepted (a bundle: all its members)."""
    case = visible_case(user, case_no)
    if case.parent_id is not None:
        raise Conflict("一件事中的事项不能单独撤回，请撤回整件", error="bundle_member")
    now = utcnow()
    note = reason or "申请人撤回"
    if case.kind == "bundle":
        for child in case.children:
            if child.status != "submitted":
                raise Conflict(f"「{child.service_name}」已{STATUS_LABELS[child.status]}，"
                               "不能撤回", error="illegal_transition",
                               errors={"status": [f"{child.status} -> withdrawn"]})
        for child in case.children:
            move(child, "withdrawn", source="applicant", name="申请人撤回", at=now, note=note)
        # The bundle's own timeline shows the withdrawal too; its members' moves do not.
        move(case, "withdrawn", source="applicant", name="申请人撤回", at=now, note=note)
        follow_parent(case.children[0])
        return case
    move(case, "withdrawn", source="applicant", name="申请人撤回", at=now, note=note)
    return case


def follow_parent(child: Case) -> None:
    """Bring a bundle's parent case in line with its members after one of them moved."""
    if child.parent_id is None:
        return
    parent = db.session.get(Case, child.parent_id)
    if parent is None:
        return
    members = parent.children
    before = parent.status
    if all(m.status in FINISHED_STATUSES for m in members):
        statuses = {m.status for m in members}
        parent.status = ("approved" if "approved" in statuses
                         else "rejected" if "rejected" in statuses else "withdrawn")
        parent.closed_at = max(_closed(m) for m in members)
    else:
        open_statuses = [m.status for m in members if m.status not in FINISHED_STATUSES]
        parent.status = min(open_statuses, key=PARENT_ORDER.index)
    due = [m.due_at for m in members if m.due_at is not None]
    parent.due_at = max(due) if due else parent.due_at
    if parent.status != before:
        payload = event_payload(parent)
        emit(EVENT_MOVED, **payload, previous_status=before, node=child.service_name,
             at=utcnow().isoformat())
        if parent.status in FINISHED_STATUSES:
            emit(EVENT_FINISHED, **payload, overdue=is_overdue(parent))


def _closed(case: Case) -> datetime:
    return case.closed_at or timeline(case)[-1].at
