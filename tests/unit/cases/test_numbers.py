"""Case numbers (province, China date, serial) and query codes."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime

import sqlalchemy as sa

from app.cases.numbers import (
    QUERY_ALPHABET,
    QUERY_CODE_LENGTH,
    china_date,
    new_query_code,
    next_case_no,
)
from app.extensions import db
from app.models.case import CaseSerial

MOMENT = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)   # 11:00 in China


def allocate(province: str = "53", moment: datetime = MOMENT) -> str:
    number = next_case_no(province, moment)
    db.session.commit()
    return number


def test_a_case_number_is_province_china_date_and_a_seven_digit_serial(app_context):
    assert allocate() == "53202611250000001"
    assert re.fullmatch(r"53\d{8}\d{7}", allocate())


def test_the_date_is_the_china_date_across_utc_midnight(app_context):
    # 17:00 UTC on the 25th is 01:00 on the 26th in China.
    assert china_date(datetime(2026, 11, 25, 15, 59, 59, tzinfo=UTC)) == "20261125"
    assert china_date(datetime(2026, 11, 25, 17, 0, tzinfo=UTC)) == "20261126"
    assert allocate(moment=datetime(2026, 11, 25, 17, 0, tzinfo=UTC)) == "53202611260000001"


def test_serials_increase_per_province_and_day(app_context):
    first = [allocate() for _ in range(3)]
    assert first == [f"5320261125000000{n}" for n in (1, 2, 3)]
    # Another day and another province each start their own count.
    assert allocate(moment=datetime(2026, 11, 26, 3, 0, tzinfo=UTC)) == "53202611260000001"
    assert allocate(province="44") == "44202611250000001"
    assert allocate() == "53202611250000004"
    rows = dict(db.session.execute(sa.select(CaseSerial.scope, CaseSerial.last)).all())
    assert rows == {"53:20261125": 4, "53:20261126": 1, "44:20261125": 1}


def test_a_rolled_back_submission_may_leave_a_gap_but_never_a_repeat(app_context):
    first = allocate()
    next_case_no("53", MOMENT)
    db.session.rollback()
    after = allocate()
    assert after > first and after != first


def in_threads(app, threads: int, work) -> list[str]:
    """Run `work()` (a list of case numbers) in `threads` threads at once, each in its own app
    context (its own session and connection); every number they got."""
    numbers: list[str] = []
    failures: list[BaseException] = []
    start = threading.Barrier(threads)
    lock = threading.Lock()

    def run() -> None:
        try:
            with app.app_context():
                start.wait()
                try:
                    mine = work()
                finally:
                    db.session.remove()
            with lock:
                numbers.extend(mine)
        except BaseException as exc:  # reported below, with the thread's error
            failures.append(exc)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not failures, failures
    return numbers


def test_concurrent_allocations_are_all_unique(app):
    threads, per_thread = 8, 25
    numbers = in_threads(app, threads, lambda: [allocate() for _ in range(per_thread)])
    assert len(numbers) == threads * per_thread
    assert len(set(numbers)) == len(numbers)
    # Every serial handed out once: 1 … 200, no gaps when nothing failed.
    assert sorted(int(n[-7:]) for n in numbers) == list(range(1, threads * per_thread + 1))


def test_the_first_allocations_of_a_day_racing_each_other_all_succeed(app):
    # The day's counter row does not exist yet: every thread finds none at the same moment.
    for day in range(1, 11):
        moment = datetime(2026, 10, day, 3, 0, tzinfo=UTC)
        numbers = in_threads(app, 8, lambda moment=moment: [allocate(moment=moment)])
        assert sorted(int(n[-7:]) for n in numbers) == list(range(1, 9)), day


def test_query_codes_use_the_alphabet_without_look_alikes():
    codes = [new_query_code() for _ in range(2000)]
    assert all(len(code) == QUERY_CODE_LENGTH == 8 for code in codes)
    used = set("".join(codes))
    assert used <= set(QUERY_ALPHABET)
    assert not set("01OIL") & set(QUERY_ALPHABET)
    # Random, not a sequence: 2000 codes of 31⁸ do not collide, and use every character.
    assert len(set(codes)) == len(codes)
    assert used == set(QUERY_ALPHABET)
