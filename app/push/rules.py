"""Push rules: writing them, and their lifecycle from draft to the kill switch.

    draft → submitted (submit) → active (approve) or rejected (reject); rejected → draft (any
    edit); active ⇄ paused (pause, resume); active | paused | finished → stopped (stop: final)

A rule is edited only while it is a draft or rejected (an edit makes it a draft again), and is
checked in full (`rule_checks`) on every edit, and for sending at submit and again at approve.
The approver must be another admin than whoever created, edited or submitted the rule. A move
the state forbids is a Conflict naming the state and the move. A rule past its `ends_at`
counts as finished (`status_at`, `is_live`) and takes no move but stop, the kill switch
for a run that may still be in flight. Every edit and move is
audit-logged with the actor and the before and after of what changed; approve, pause, resume
and stop emit `push.rule_approved`, `push.rule_paused`, `push.rule_resumed` and
`push.rule_stopped` with the rule's id, for the runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import AdminAccount, AuditEntry
from app.models.push import PushRule
from app.platform import audit
from app.platform.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.platform.events import emit
from app.platform.orm import utcnow
from app.platform.pages import Page, paginate
from app.push.audiences import preview
from app.push.rule_checks import PARAM_COLUMNS, PERSONAL_NUMBER, TARGETS, checked
from app.push.scheduling import next_run_after

MAX_NOTE_LENGTH = 200
EDITABLE = frozenset({"draft", "rejected"})
# Each move: the states it starts from, and the state it leads to.
MOVES: dict[str, tuple[frozenset[str], str]] = {
    "submit": (frozenset({"draft"}), "submitted"),
    "approve": (frozenset({"submitted"}), "active"),
    "reject": (frozenset({"submitted"}), "rejected"),
    "pause": (frozenset({"active"}), "paused"),
    "resume": (frozenset({"paused"}), "active"),
    # The kill switch also takes a rule that has finished: its last run may be in flight.
    "stop": (frozenset({"active", "paused", "finished"}), "stopped"),
}
EVENTS = {"approve": "push.rule_approved", "pause": "push.rule_paused",
          "resume": "push.rule_resumed", "stop": "push.rule_stopped"}
STATUS_NAMES = {"draft": "草稿", "submitted": "待审批", "approved": "已批准", "active": "生效中",
                "paused": "已暂停", "finished": "已结束", "rejected": "已驳回",
                "stopped": "已停止"}
MOVE_NAMES = {"edit": "修改", "submit": "提交审批", "approve": "审批通过", "reject": "驳回",
              "pause": "暂停", "resume": "恢复", "stop": "停止"}
# What a move may change besides the status, written before and after in the audit log.
LIFECYCLE_FIELDS = ("status", "submitted_by", "approved_by", "approved_at", "review_note",
                    "next_run_at")
UPDATE_ACTION = "push_rule.update"


def status_at(rule: PushRule, now: datetime) -> str:
    """The rule's status as people see it: an active or paused rule past its end is finished."""
    if rule.status in ("active", "paused") and rule.ends_at is not None and rule.ends_at <= now:
        return "finished"
    return rule.status


def is_live(rule: PushRule, now: datetime) -> bool:
    """Whether the rule may send now: approved, not paused or stopped, not past its end."""
    return status_at(rule, now) == "active"


def rule_of(rule_id: int, *, for_update: bool = False) -> PushRule:
    """The rule, locked for a change when `for_update` (two approvals must not both pass)."""
    rule = db.session.get(PushRule, rule_id, with_for_update=for_update,
                          populate_existing=for_update)
    if rule is None:
        raise NotFound("推送规则不存在", errors={"id": ["not found"]})
    return rule


def rules_page(*, page: int, per_page: int, status: str | None = None,
               now: datetime | None = None) -> Page:
    """Rules as `view_of` shows them, the newest first, optionally in one status."""
    now = now or utcnow()
    query = sa.select(PushRule).order_by(PushRule.id.desc())
    if status:
        query = query.where(_in_status(status, now))
    found = paginate(query, page=page, per_page=per_page)
    return Page([view_of(rule, now) for rule in found.items], found.page, found.per_page,
                found.total)


def _in_status(status: str, now: datetime) -> sa.ColumnElement[bool]:
    """The SQL form of `status_at(rule, now) == status`."""
    ended = sa.and_(PushRule.ends_at.is_not(None), PushRule.ends_at <= now)
    if status == "finished":
        return sa.or_(PushRule.status == "finished",
                      sa.and_(PushRule.status.in_(("active", "paused")), ended))
    if status in ("active", "paused"):
        return sa.and_(PushRule.status == status, sa.not_(ended))
    return PushRule.status == status


def spec_of(rule: PushRule) -> dict[str, Any]:
    """The rule in the shape admins write it (the body of POST /admin/push-rules)."""
    message: dict[str, Any] = {"title": rule.title, "body": rule.body}
    for key, kind in TARGETS.items():
        if rule.target_kind == kind:
            message[key] = True if kind == "case" else rule.target_code
    schedule: dict[str, Any] = {"type": rule.schedule_type}
    if rule.schedule_type == "once":
        schedule["at"] = rule.schedule_at
    elif rule.schedule_type == "cron":
        schedule["expression"] = rule.cron
    else:
        named = {column: name for name, column in PARAM_COLUMNS.items()}
        schedule.update({named.get(key, key): value
                         for key, value in (rule.event_params or {}).items()}, event=rule.event)
    caps = {key: value for key, value in (("per_day", rule.cap_per_day),
                                          ("per_week", rule.cap_per_week)) if value is not None}
    wechat = ({"template_id": rule.wechat_template_id, "data": dict(rule.wechat_data or {})}
              if rule.wechat_template_id else None)
    return {"name": rule.name, "audience": rule.audience, "category": rule.category,
            "reason": rule.reason, "message": message, "channels": list(rule.channels),
            "wechat": wechat, "schedule": schedule, "frequency_cap": caps or None,
            "priority": rule.priority, "ends_at": rule.ends_at}


def view_of(rule: PushRule, now: datetime | None = None) -> dict[str, Any]:
    """The rule as the API shows it: what was written, and where it stands."""
    return {"id": str(rule.id), **spec_of(rule), "status": status_at(rule, now or utcnow()),
            "created_by": _text_id(rule.created_by),
            "submitted_by": _text_id(rule.submitted_by),
            "approved_by": _text_id(rule.approved_by), "approved_at": rule.approved_at,
            "review_note": rule.review_note, "created_at": rule.created_at,
            "updated_at": rule.updated_at, "next_run_at": rule.next_run_at}


def _text_id(admin_id: int | None) -> str | None:
    return None if admin_id is None else str(admin_id)


def _apply(rule: PushRule, clean: dict[str, Any]) -> None:
    """Write a checked spec into the rule's columns."""
    message, schedule = clean["message"], clean["schedule"]
    target = next((key for key in TARGETS if key in message), None)
    caps, wechat = clean["frequency_cap"] or {}, clean["wechat"]
    rule.name, rule.audience, rule.category = clean["name"], clean["audience"], clean["category"]
    rule.reason, rule.title, rule.body = clean["reason"], message["title"], message["body"]
    rule.target_kind = TARGETS[target] if target else "none"
    rule.target_code = message[target] if target in ("service_code", "bundle_code") else ""
    rule.channels = clean["channels"]
    rule.wechat_template_id = wechat["template_id"] if wechat else None
    rule.wechat_data = wechat["data"] if wechat else {}
    rule.schedule_type = schedule["type"]
    rule.schedule_at, rule.cron = schedule.get("at"), schedule.get("expression")
    rule.event = schedule.get("event")
    rule.event_params = {PARAM_COLUMNS.get(key, key): value for key, value in schedule.items()
                         if key not in ("type", "at", "expression", "event")}
    rule.cap_per_day, rule.cap_per_week = caps.get("per_day"), caps.get("per_week")
    rule.priority, rule.ends_at = clean["priority"], clean["ends_at"]


def create(admin: AdminAccount, spec: Mapping[str, Any], *,
           now: datetime | None = None) -> PushRule:
    """A new draft from what the admin wrote (InvalidInput naming each field that is wrong)."""
    clean = checked(spec, now=now or utcnow())
    rule = PushRule(status="draft", created_by=admin.id)
    _apply(rule, clean)
    db.session.add(rule)
    db.session.flush()
    audit.record("push_rule.create", actor=admin, target_type="push_rule", target_id=rule.id,
                 details={"after": _jsonable(clean)})
    return rule


def edit(admin: AdminAccount, rule_id: int, changes: Mapping[str, Any], *,
         now: datetime | None = None) -> PushRule:
    """Replace the given top-level fields of a draft or rejected rule (which becomes a draft);
    the whole rule is checked again."""
    now = now or utcnow()
    rule = rule_of(rule_id, for_update=True)
    if rule.status not in EDITABLE:
        raise _illegal("edit", status_at(rule, now))
    before = spec_of(rule)
    clean = checked({**before, **changes}, now=now)
    changed = [key for key in clean if clean[key] != before.get(key)]
    old = {key: before[key] for key in changed}
    new = {key: clean[key] for key in changed}
    if rule.status != "draft":
        old["status"], new["status"] = rule.status, "draft"
        rule.status = "draft"
    _apply(rule, clean)
    audit.record(UPDATE_ACTION, actor=admin, target_type="push_rule", target_id=rule.id,
                 details={"before": _jsonable(old), "after": _jsonable(new)})
    return rule


def preview_of(rule_id: int) -> dict[str, Any]:
    """Who the saved rule's audience reaches now; nothing is sent."""
    return preview(rule_of(rule_id).audience)


def submit(admin: AdminAccount, rule_id: int, *, now: datetime | None = None) -> PushRule:
    """Ask for approval: only a rule that could send as it stands."""
    now = now or utcnow()
    rule, before = _moving(rule_id, "submit", now)
    checked(spec_of(rule), now=now, sending=True)
    rule.submitted_by = admin.id
    return _moved(admin, rule, "submit", before)


def approve(admin: AdminAccount, rule_id: int, *, now: datetime | None = None) -> PushRule:
    """Another admin's approval: the rule goes live, checked once more for sending."""
    now = now or utcnow()
    rule, before = _moving(rule_id, "approve", now)
    if admin.id in (rule.created_by, rule.submitted_by) or _has_edited(admin, rule):
        raise Forbidden("审批人不能是该规则的创建人、修改人或提交人，请由另一位推送审批员审批",
                        error="self_approval",
                        errors={"approved_by": ["the approver created, edited or submitted it"]})
    checked(spec_of(rule), now=now, sending=True)
    rule.approved_by, rule.approved_at = admin.id, now
    rule.review_note = ""
    rule.next_run_at = first_run(rule, now)
    return _moved(admin, rule, "approve", before)


def first_run(rule: PushRule, now: datetime) -> datetime | None:
    """When an approved rule first sends: a once rule at its time (or now), a cron rule at its
    next time; an event rule waits for its events."""
    if rule.schedule_type == "once":
        return rule.schedule_at or now
    if rule.schedule_type == "cron" and rule.cron:
        return next_run_after(rule.cron, now)
    return None


def reject(admin: AdminAccount, rule_id: int, note: str, *,
           now: datetime | None = None) -> PushRule:
    """Send the rule back to its author with a note; it can be edited again."""
    note = (note or "").strip()
    if not note or len(note) > MAX_NOTE_LENGTH:
        raise InvalidInput("note", f"请填写驳回理由，不超过 {MAX_NOTE_LENGTH} 个字")
    if PERSONAL_NUMBER.search(note):
        raise InvalidInput("note", "驳回理由不能包含身份证号、手机号等个人号码")
    rule, before = _moving(rule_id, "reject", now or utcnow())
    rule.review_note = note
    return _moved(admin, rule, "reject", before)


def pause(admin: AdminAccount, rule_id: int, *, now: datetime | None = None) -> PushRule:
    """Hold a live rule: nothing more is sent until it resumes."""
    rule, before = _moving(rule_id, "pause", now or utcnow())
    return _moved(admin, rule, "pause", before)


def resume(admin: AdminAccount, rule_id: int, *, now: datetime | None = None) -> PushRule:
    """Let a paused rule send again; a cron rule skips the times it missed while paused."""
    now = now or utcnow()
    rule, before = _moving(rule_id, "resume", now)
    if rule.schedule_type == "cron" and rule.cron:
        rule.next_run_at = next_run_after(rule.cron, now)
    return _moved(admin, rule, "resume", before)


def stop(admin: AdminAccount, rule_id: int, *, now: datetime | None = None) -> PushRule:
    """The kill switch: the rule sends nothing more, a run in flight included. Final."""
    rule, before = _moving(rule_id, "stop", now or utcnow())
    rule.next_run_at = None
    return _moved(admin, rule, "stop", before)


def _moving(rule_id: int, move: str, now: datetime) -> tuple[PushRule, dict[str, Any]]:
    """The rule, locked, if `move` may start from its state; with its lifecycle fields."""
    rule = rule_of(rule_id, for_update=True)
    status = status_at(rule, now)
    if status not in MOVES[move][0]:
        raise _illegal(move, status)
    return rule, {name: getattr(rule, name) for name in LIFECYCLE_FIELDS}


def _moved(admin: AdminAccount, rule: PushRule, move: str,
           before: dict[str, Any]) -> PushRule:
    """Finish a move: the new state, the audit entry and the event for the runs."""
    rule.status = MOVES[move][1]
    after = {name: getattr(rule, name) for name in LIFECYCLE_FIELDS}
    changed = [name for name in LIFECYCLE_FIELDS if after[name] != before[name]]
    audit.record(f"push_rule.{move}", actor=admin, target_type="push_rule", target_id=rule.id,
                 details={"before": _jsonable({n: before[n] for n in changed}),
                          "after": _jsonable({n: after[n] for n in changed})})
    if move in EVENTS:
        emit(EVENTS[move], rule_id=rule.id)
    return rule


def _illegal(move: str, status: str) -> Conflict:
    hint = "；只有草稿或已驳回的规则可以修改" if move == "edit" else ""
    return Conflict(f"「{STATUS_NAMES.get(status, status)}」状态的推送规则不能"
                    f"{MOVE_NAMES[move]}{hint}", error="illegal_transition",
                    errors={"status": [f"cannot {move} a rule that is {status}"]})


def _has_edited(admin: AdminAccount, rule: PushRule) -> bool:
    """Whether the admin edited the rule: the audit log is the record of who wrote what."""
    return bool(db.session.scalar(sa.select(AuditEntry.id).where(
        AuditEntry.actor_id == admin.id, AuditEntry.action == UPDATE_ACTION,
        AuditEntry.target_type == "push_rule", AuditEntry.target_id == str(rule.id)).limit(1)))


def _jsonable(value: Any) -> Any:
    """`value` as the audit log's JSON column takes it (times in ISO 8601, UTC)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {key: _jsonable(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(inner) for inner in value]
    return value
