"""How a case moves: the state machine, its timeline, its clock, and the events it emits.

    submitted → accepted → in_review → approved / rejected
                  ↘ supplement_requested ↗  (and back; the clock stops meanwhile)
    submitted → withdrawn (the applicant, before acceptance)

Departments report moves with the time they happened, and their messages can arrive out of
order. A move is therefore placed in the timeline by its time, and the whole timeline is
replayed through the state machine: the move is taken when the replay is legal, and the case's
status, closing time and due time are what the replay ends with. A move that makes the replay
illegal is refused, naming the transition it breaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from app.models.case import FINISHED_STATUSES, OPEN_STATUSES, Case, CaseNode
from app.platform.clock import CHINA_TZ
from app.platform.errors import Conflict, InvalidInput
from app.platform.events import emit
from app.platform.orm import utcnow
from app.platform.working_days import WorkingCalendar, working_calendar

STATUS_LABELS = {
    "submitted": "已提交", "accepted": "已受理", "in_review": "审查中",
    "supplement_requested": "待补正", "approved": "已办结", "rejected": "不予许可",
    "withdrawn": "已撤回",
}
# Who may make which move. A department may report several review nodes in a row.
DEPARTMENT_MOVES = {
    "submitted": {"accepted", "rejected", "supplement_requested"},
    "accepted": {"in_review", "supplement_requested", "approved", "rejected"},
    "in_review": {"in_review", "supplement_requested", "approved", "rejected"},
    "supplement_requested": {"accepted", "in_review", "rejected"},
}
APPLICANT_MOVES = {"submitted": {"withdrawn"}}
SYSTEM_MOVES = {"submitted": {"approved"}}  # instant approval (秒批)
MOVES_BY_SOURCE = {"department": DEPARTMENT_MOVES, "applicant": APPLICANT_MOVES,
                   "system": SYSTEM_MOVES}
DEPARTMENT_STATUSES = sorted({s for targets in DEPARTMENT_MOVES.values() for s in targets})
# Department clocks drift: a move may be stamped a little before the submission it follows,
# or a little ahead of ours, and still be believed.
CLOCK_SKEW = timedelta(minutes=5)
EVENT_MOVED, EVENT_FINISHED, EVENT_OVERDUE = "case.moved", "case.finished", "case.overdue"


@dataclass
class Clock:
    due_at: datetime | None
    paused_at: datetime | None


def china_day(moment: datetime) -> date:
    return moment.astimezone(CHINA_TZ).date()


def end_of_china_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), CHINA_TZ)


def first_due(calendar: WorkingCalendar, submitted_at: datetime, limit_days: int) -> datetime:
    """The end of the working day `limit_days` working days after submission; a limit of 0
    (即办) is due by the end of the submission day, or of the next working day after it."""
    day = china_day(submitted_at)
    if limit_days > 0:
        return end_of_china_day(calendar.add_working_days(day, limit_days))
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return end_of_china_day(day)


def resume(calendar: WorkingCalendar, clock: Clock, at: datetime) -> None:
    """Leaving a supplement request: the working days it lasted push the due time back."""
    if clock.paused_at is None or clock.due_at is None:
        clock.paused_at = None
        return
    paused = calendar.working_days_between(china_day(clock.paused_at), china_day(at))
    if paused > 0:
        clock.due_at = end_of_china_day(
            calendar.add_working_days(china_day(clock.due_at), paused))
    clock.paused_at = None


def _clock_time(case: Case, now: datetime | None) -> datetime:
    """Where the case's clock stands: now, or when a supplement request stopped it (its
    working days are added to the due time on resuming, so the days left stay as they were)."""
    return case.paused_at or now or utcnow()


def working_days_left(case: Case, now: datetime | None = None) -> int | None:
    """Working days from today to the due day (negative once overdue); None once closed."""
    # `case` may be a row of the list's columns as well as a Case.
    if case.status not in OPEN_STATUSES or case.due_at is None:
        return None
    today = china_day(_clock_time(case, now))
    return working_calendar().working_days_between(today, china_day(case.due_at))


def is_overdue(case: Case, now: datetime | None = None) -> bool:
    if case.due_at is None:
        return False
    if case.status in OPEN_STATUSES:
        return _clock_time(case, now) > case.due_at
    return case.closed_at is not None and case.closed_at > case.due_at


def _allowed(source: str, current: str, target: str) -> bool:
    return target in MOVES_BY_SOURCE[source].get(current, ())


def _illegal(current: str, target: str) -> Conflict:
    return Conflict(f"办件不能从「{STATUS_LABELS[current]}」变为「{STATUS_LABELS[target]}」",
                    error="illegal_transition", errors={"status": [f"{current} -> {target}"]})


def _replay(case: Case, nodes: list[CaseNode]) -> tuple[str, datetime | None, Clock]:
    """Walk the timeline from submission: the final status, closing time and clock."""
    calendar = working_calendar()
    status = "submitted"
    closed_at = None
    clock = Clock(first_due(calendar, case.submitted_at, case.promised_limit_days), None)
    for node in nodes:
        if node.status == "submitted":  # the submission itself, or a note made at it
            continue
        if not _allowed(node.source, status, node.status):
            raise _illegal(status, node.status)
        if status == "supplement_requested" and node.status != "supplement_requested":
            resume(calendar, clock, node.at)
        if node.status == "supplement_requested":
            clock.paused_at = node.at
        status = node.status
        if status in FINISHED_STATUSES:
            closed_at = node.at
    return status, closed_at, clock


def timeline(case: Case) -> list[CaseNode]:
    return sorted(case.nodes, key=lambda n: (n.at, n.id or 0))


def start(case: Case, at: datetime, note: str = "") -> CaseNode:
    """The first node of a new case, and its clock."""
    case.submitted_at = at
    case.due_at = first_due(working_calendar(), at, case.promised_limit_days)
    node = CaseNode(name="提交申请", status="submitted", at=at, note=note, source="applicant",
                    department="")
    case.nodes.append(node)
    return node


def move(case: Case, target: str, *, source: str, name: str | None = None, at: datetime,
         note: str = "", department: str = "", event_id: str | None = None) -> CaseNode:
    """Place a move in the timeline by its time; refuse it (409) if the replay breaks the
    state machine. Emits `case.moved` (and `case.finished`) when the status changes."""
    now = utcnow()
    if at > now + CLOCK_SKEW:
        raise InvalidInput("at", "办理时间不能晚于当前时间")
    if at < case.submitted_at - CLOCK_SKEW:
        raise InvalidInput("at", "办理时间不能早于申请提交时间")
    node = CaseNode(name=name or STATUS_LABELS[target], status=target, at=at, note=note,
                    source=source, department=department or case.department, event_id=event_id)
    ordered = sorted([*case.nodes, node], key=lambda n: (n.at, n.id or float("inf")))
    status, closed_at, clock = _replay(case, ordered)
    before = case.status
    case.nodes.append(node)
    case.status, case.closed_at = status, closed_at
    case.due_at, case.paused_at = clock.due_at, clock.paused_at
    if status != before:
        payload = event_payload(case)
        emit(EVENT_MOVED, **payload, previous_status=before, node=node.name,
             at=node.at.isoformat())
        if status in FINISHED_STATUSES:
            emit(EVENT_FINISHED, **payload, overdue=is_overdue(case, now))
    return node


def mark_overdue(case: Case, now: datetime) -> None:
    case.overdue_at = now
    due = case.due_at.isoformat() if case.due_at else None
    emit(EVENT_OVERDUE, **event_payload(case), due_at=due)


def event_payload(case: Case) -> dict[str, object]:
    return {"case_id": case.id, "case_no": case.case_no, "status": case.status,
            "service_code": case.service_code, "applicant_user_id": case.applicant_user_id,
            "enterprise_id": case.enterprise_id}
