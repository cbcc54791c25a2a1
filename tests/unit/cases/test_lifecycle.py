"""The life of a case: its state machine, the timeline replayed by time, and its clock in
Chinese working days (weekends, the 2026 holidays, make-up days)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.cases.lifecycle import (
    EVENT_FINISHED,
    EVENT_MOVED,
    first_due,
    is_overdue,
    move,
    timeline,
    working_days_left,
)
from app.extensions import db
from app.models.case import CASE_STATUSES, Case
from app.platform.clock import CHINA_TZ
from app.platform.errors import Conflict, InvalidInput
from app.platform.working_days import build_calendar

CALENDAR = build_calendar()


def china(text: str) -> datetime:
    """A moment written in China time, `2026-11-25 09:00`."""
    return datetime.fromisoformat(text).replace(tzinfo=CHINA_TZ)


def end_of(day: str) -> datetime:
    return china(f"{day} 23:59:59")


def new_case(submitted: str = "2026-11-16 09:00", limit: int = 5) -> Case:
    """A case just submitted (not stored: the lifecycle works on the object)."""
    from app.cases.lifecycle import start

    case = Case(case_no="53202611160000001", status="submitted", kind="item",
                service_code="GF00001001", promised_limit_days=limit, department="测试局")
    start(case, china(submitted))
    return case


# The moves each source may make, written out from the product's rules (not the code's table).
ALLOWED = {
    "department": {
        "submitted": {"accepted", "rejected", "supplement_requested"},
        "accepted": {"in_review", "supplement_requested", "approved", "rejected"},
        "in_review": {"in_review", "supplement_requested", "approved", "rejected"},
        "supplement_requested": {"accepted", "in_review", "rejected"},
    },
    "applicant": {"submitted": {"withdrawn"}},
    "system": {"submitted": {"approved"}},
}
# How a case reaches each status, one legal move after another.
PATHS = {
    "submitted": [],
    "accepted": [("department", "accepted")],
    "in_review": [("department", "accepted"), ("department", "in_review")],
    "supplement_requested": [("department", "supplement_requested")],
    "approved": [("department", "accepted"), ("department", "approved")],
    "rejected": [("department", "rejected")],
    "withdrawn": [("applicant", "withdrawn")],
}
TARGETS = [s for s in CASE_STATUSES if s != "submitted"]


def case_in(status: str) -> Case:
    case = new_case()
    for hour, (source, target) in enumerate(PATHS[status], start=1):
        move(case, target, source=source, at=china("2026-11-16 09:00") + timedelta(hours=hour))
    assert case.status == status
    return case


def every_move(source: str, allowed: bool) -> list[tuple[str, str]]:
    table = ALLOWED[source]
    return [(current, target) for current in CASE_STATUSES for target in TARGETS
            if (target in table.get(current, set())) is allowed]


@pytest.mark.parametrize("source", ["department", "applicant", "system"])
def test_every_allowed_move_is_taken(app_context, source):
    for current, target in every_move(source, allowed=True):
        case = case_in(current)
        move(case, target, source=source, at=china("2026-11-17 09:00"))
        assert case.status == target, (source, current, target)


@pytest.mark.parametrize("source", ["department", "applicant", "system"])
def test_every_other_move_is_refused_naming_the_transition(app_context, source):
    refused = every_move(source, allowed=False)
    assert len(refused) > 10
    for current, target in refused:
        case = case_in(current)
        nodes = len(case.nodes)
        with pytest.raises(Conflict) as caught:
            move(case, target, source=source, at=china("2026-11-17 09:00"))
        assert caught.value.error == "illegal_transition"
        assert caught.value.errors == {"status": [f"{current} -> {target}"]}
        assert case.status == current and len(case.nodes) == nodes


@pytest.mark.parametrize(("source", "current", "target"), [
    ("department", "submitted", "approved"),      # accepted first
    ("department", "submitted", "withdrawn"),     # only the applicant withdraws
    ("department", "supplement_requested", "approved"),
    ("department", "approved", "rejected"),
    ("department", "rejected", "accepted"),
    ("department", "withdrawn", "accepted"),
    ("applicant", "accepted", "withdrawn"),       # too late once accepted
    ("applicant", "submitted", "approved"),
    ("system", "accepted", "approved"),           # instant approval only at submission
])
def test_sample_refusals_per_source(app_context, source, current, target):
    with pytest.raises(Conflict, match="办件不能从"):
        move(case_in(current), target, source=source, at=china("2026-11-17 09:00"))


def test_a_status_change_emits_moved_and_a_finish_emits_finished(app_context):
    case = new_case()
    db.session.info.pop("pending_events", None)
    move(case, "accepted", source="department", at=china("2026-11-16 10:00"))
    move(case, "in_review", source="department", at=china("2026-11-16 11:00"))
    move(case, "in_review", source="department", name="复审", at=china("2026-11-16 12:00"))
    move(case, "approved", source="department", at=china("2026-11-16 13:00"))
    events = [(e.name, e.payload["status"], e.payload.get("previous_status"))
              for e in db.session.info.pop("pending_events")]
    assert events == [(EVENT_MOVED, "accepted", "submitted"),
                      (EVENT_MOVED, "in_review", "accepted"),
                      (EVENT_MOVED, "approved", "in_review"),
                      (EVENT_FINISHED, "approved", None)]
    db.session.rollback()


def test_nodes_arriving_out_of_order_are_placed_by_their_time(app_context):
    case = new_case()
    move(case, "accepted", source="department", name="受理", at=china("2026-11-16 10:00"))
    move(case, "approved", source="department", name="办结", at=china("2026-11-18 10:00"))
    # Reported late, it happened between the two: the replay is legal and the status stays.
    move(case, "in_review", source="department", name="审查", at=china("2026-11-17 10:00"))
    assert case.status == "approved"
    assert case.closed_at == china("2026-11-18 10:00")
    assert [n.name for n in timeline(case)] == ["提交申请", "受理", "审查", "办结"]


def test_an_out_of_order_node_that_breaks_the_replay_is_refused(app_context):
    case = new_case()
    move(case, "accepted", source="department", at=china("2026-11-16 10:00"))
    move(case, "approved", source="department", at=china("2026-11-17 10:00"))
    with pytest.raises(Conflict) as caught:
        move(case, "in_review", source="department", at=china("2026-11-18 10:00"))
    assert caught.value.errors == {"status": ["approved -> in_review"]}
    # A node stamped before the acceptance it depends on cannot come first either.
    other = new_case()
    with pytest.raises(Conflict) as caught:
        move(other, "in_review", source="department", at=china("2026-11-16 11:00"))
    assert caught.value.errors == {"status": ["submitted -> in_review"]}


def test_a_late_supplement_request_is_replayed_into_the_clock(app_context):
    case = new_case("2026-11-16 09:00", limit=5)          # due Monday 11-23
    move(case, "accepted", source="department", at=china("2026-11-16 10:00"))
    move(case, "in_review", source="department", at=china("2026-11-20 10:00"))
    assert case.due_at == end_of("2026-11-23")
    # The supplement request of Wednesday arrives after the review node of Friday: the clock
    # stood from Wednesday until the review resumed it on Friday (two working days).
    move(case, "supplement_requested", source="department", at=china("2026-11-18 10:00"))
    assert case.status == "in_review" and case.paused_at is None
    assert case.due_at == end_of("2026-11-25")
    # And the applicant's supplement accepted on Thursday shortens the pause to one day.
    move(case, "accepted", source="department", at=china("2026-11-19 10:00"))
    assert case.due_at == end_of("2026-11-24")
    assert [n.status for n in timeline(case)] == [
        "submitted", "accepted", "supplement_requested", "accepted", "in_review"]


def test_a_move_in_the_future_or_before_submission_is_invalid(app_context):
    case = new_case("2026-11-16 09:00")
    with pytest.raises(InvalidInput) as caught:
        move(case, "accepted", source="department",
             at=datetime.now(UTC) + timedelta(minutes=6))
    assert caught.value.field == "at"
    with pytest.raises(InvalidInput):
        move(case, "accepted", source="department", at=china("2026-11-16 08:54"))
    # A department clock a few minutes behind ours is believed.
    move(case, "accepted", source="department", at=china("2026-11-16 08:56"))
    assert case.status == "accepted"


@pytest.mark.parametrize(("submitted", "limit", "due"), [
    # 即办 (0): the end of the submission day, or of the next working day after it.
    ("2026-11-27 10:00", 0, "2026-11-27"),    # Friday
    ("2026-11-28 10:00", 0, "2026-11-30"),    # Saturday → Monday
    ("2026-10-01 10:00", 0, "2026-10-08"),    # National Day → the Thursday after the week
    ("2026-10-10 10:00", 0, "2026-10-10"),    # a make-up Saturday is a working day
    # 5 working days
    ("2026-11-25 10:00", 5, "2026-12-02"),    # Wednesday, over one weekend
    ("2026-11-27 10:00", 5, "2026-12-04"),    # Friday
    ("2026-11-28 10:00", 5, "2026-12-04"),    # Saturday counts from the Monday
    ("2026-09-30 10:00", 5, "2026-10-13"),    # over National Day and its make-up Saturday
    ("2026-09-24 10:00", 1, "2026-09-28"),    # Mid-Autumn Friday and the weekend
    ("2026-09-18 10:00", 1, "2026-09-20"),    # Sunday 09-20 is a make-up day
    ("2026-10-09 10:00", 1, "2026-10-10"),    # Saturday 10-10 is a make-up day
    # 20 working days
    ("2026-11-25 10:00", 20, "2026-12-23"),
    ("2026-09-21 10:00", 20, "2026-10-26"),   # Mid-Autumn, National Day, two make-up days
])
def test_first_due_counts_working_days_from_the_china_day(submitted, limit, due):
    assert first_due(CALENDAR, china(submitted), limit) == end_of(due)


def test_first_due_takes_the_china_day_across_utc_midnight():
    # 17:00 UTC on Wednesday is 01:00 on Thursday in China.
    late = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)
    assert first_due(CALENDAR, late, 1) == end_of("2026-11-27")
    assert first_due(CALENDAR, late - timedelta(hours=2), 1) == end_of("2026-11-26")


def test_the_due_time_is_the_last_second_of_the_china_day():
    due = first_due(CALENDAR, china("2026-11-25 10:00"), 1)
    assert due.astimezone(UTC) == datetime(2026, 11, 26, 15, 59, 59, tzinfo=UTC)


def test_resuming_after_a_supplement_pushes_the_due_day_by_the_working_days_paused(
        app_context):
    case = new_case("2026-11-16 09:00", limit=5)          # due Monday 11-23
    move(case, "supplement_requested", source="department", at=china("2026-11-18 10:00"))
    assert case.paused_at == china("2026-11-18 10:00")
    assert case.due_at == end_of("2026-11-23")            # not moved while it waits
    # Back on Tuesday 11-24: Thursday, Friday, Monday, Tuesday paused (the weekend is not).
    move(case, "accepted", source="department", at=china("2026-11-24 10:00"))
    assert case.paused_at is None
    assert case.due_at == end_of("2026-11-27")


def test_a_supplement_answered_the_same_day_does_not_move_the_due_day(app_context):
    case = new_case("2026-11-16 09:00", limit=5)
    move(case, "supplement_requested", source="department", at=china("2026-11-18 10:00"))
    move(case, "in_review", source="department", at=china("2026-11-18 16:00"))
    assert case.due_at == end_of("2026-11-23")


def test_a_pause_over_national_day_counts_only_its_working_days(app_context):
    case = new_case("2026-09-28 09:00", limit=5)
    assert case.due_at == end_of("2026-10-10")            # the make-up Saturday
    move(case, "supplement_requested", source="department", at=china("2026-09-30 10:00"))
    move(case, "accepted", source="department", at=china("2026-10-09 10:00"))
    # Paused Thursday 10-08 and Friday 10-09 only: two working days after 10-10.
    assert case.due_at == end_of("2026-10-13")


def test_is_overdue(app_context):
    case = new_case("2026-11-16 09:00", limit=5)          # due 2026-11-23 end
    assert not is_overdue(case, china("2026-11-23 23:59"))
    assert is_overdue(case, china("2026-11-24 00:00"))
    move(case, "supplement_requested", source="department", at=china("2026-11-20 10:00"))
    # The clock stands while the applicant is asked for more.
    assert not is_overdue(case, china("2026-11-30 10:00"))
    move(case, "accepted", source="department",
         at=china("2026-11-23 10:00"))
    move(case, "approved", source="department", at=china("2026-11-24 10:00"))
    # Finished within the extended time: not overdue, whenever asked.
    assert case.due_at == end_of("2026-11-24")
    assert not is_overdue(case, china("2026-12-30 10:00"))


def test_a_case_finished_late_stays_overdue(app_context):
    case = new_case("2026-11-16 09:00", limit=1)          # due Tuesday 11-17
    move(case, "accepted", source="department", at=china("2026-11-16 10:00"))
    move(case, "rejected", source="department", at=china("2026-11-18 10:00"))
    assert is_overdue(case, china("2026-11-18 11:00"))


def test_a_case_already_late_when_paused_stays_overdue_while_paused(app_context):
    case = new_case("2026-11-16 09:00", limit=1)          # due Tuesday 11-17
    move(case, "supplement_requested", source="department", at=china("2026-11-19 10:00"))
    assert is_overdue(case, china("2026-11-20 10:00"))


def test_working_days_left(app_context):
    case = new_case("2026-11-23 09:00", limit=5)          # due Monday 11-30
    assert case.due_at == end_of("2026-11-30")
    assert working_days_left(case, china("2026-11-23 10:00")) == 5
    assert working_days_left(case, china("2026-11-27 23:00")) == 1
    assert working_days_left(case, china("2026-11-28 10:00")) == 1   # Saturday
    assert working_days_left(case, china("2026-11-30 23:00")) == 0
    assert working_days_left(case, china("2026-12-01 10:00")) == -1
    assert working_days_left(case, china("2026-12-07 10:00")) == -5
    # Counted on the China day: 16:00 UTC on the 29th is already Monday in China.
    assert working_days_left(case, datetime(2026, 11, 29, 16, 0, tzinfo=UTC)) == 0
    move(case, "rejected", source="department", at=china("2026-11-24 10:00"))
    assert working_days_left(case, china("2026-11-24 11:00")) is None


def test_working_days_left_stands_still_while_paused(app_context):
    case = new_case("2026-11-09 09:00", limit=5)          # due Monday 11-16
    move(case, "supplement_requested", source="department", at=china("2026-11-11 10:00"))
    # Wednesday: Thursday, Friday and Monday were left, and still are a week later.
    assert working_days_left(case, china("2026-11-11 12:00")) == 3
    assert working_days_left(case, china("2026-11-18 12:00")) == 3
    move(case, "in_review", source="department", at=china("2026-11-18 12:00"))
    assert case.due_at == end_of("2026-11-23")
    assert working_days_left(case, china("2026-11-18 13:00")) == 3
