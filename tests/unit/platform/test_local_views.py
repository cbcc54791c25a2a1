"""Per-process views: built once per stamp or age, per app, under a lock; one reset for all."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask

from app.platform.local_views import LocalView, reset_local_views


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Builds:
    """A build function that counts its calls and returns the stamp with the call number."""

    def __init__(self) -> None:
        self.calls: list[object] = []

    def __call__(self, stamp: object) -> tuple[object, int]:
        self.calls.append(stamp)
        return stamp, len(self.calls)


@pytest.fixture
def app() -> Iterator[Flask]:
    app = Flask(__name__)
    with app.app_context():
        yield app


def test_a_view_is_built_once_per_stamp_and_again_when_the_stamp_moves(app: Flask) -> None:
    build = Builds()
    view = LocalView(build)
    assert view.get(1) == (1, 1)
    assert view.get(1) == (1, 1)
    assert view.get(2) == (2, 2)
    assert build.calls == [1, 2]


def test_a_view_is_kept_until_it_is_older_than_its_max_age(app: Flask) -> None:
    clock, build = Clock(), Builds()
    view = LocalView(build, max_age_seconds=10.0, clock=clock)
    assert view.get() == (None, 1)
    clock.now += 9.9
    assert view.get() == (None, 1)
    clock.now += 0.1
    assert view.get() == (None, 2)


def test_a_refresh_builds_again_however_fresh_the_view_is(app: Flask) -> None:
    build = Builds()
    view = LocalView(build, max_age_seconds=10.0, clock=Clock())
    view.get()
    assert view.get(refresh=True) == (None, 2)
    assert view.get() == (None, 2)


def test_a_copy_another_process_shared_is_taken_instead_of_building(app: Flask) -> None:
    build = Builds()
    view = LocalView(build, shared=lambda stamp: ("shared", stamp))
    assert view.get(3) == ("shared", 3)
    assert build.calls == []


def test_the_previous_value_answers_while_another_process_builds_the_new_stamp(
        app: Flask) -> None:
    build, claims = Builds(), []
    offered: dict[int, tuple[str, int]] = {}

    def claim_lost_to_another_process(stamp: int) -> bool:
        claims.append(stamp)
        return False

    view = LocalView(build, shared=offered.get, claim=claim_lost_to_another_process)
    assert view.get(1) == (1, 1)
    assert view.get(2) == (1, 1)
    assert view.get(2) == (1, 1)
    offered[2] = ("shared", 2)
    assert view.get(2) == ("shared", 2)
    assert build.calls == [1] and claims == [2, 2]


def test_with_nothing_to_answer_from_a_view_builds_without_asking_for_a_claim(
        app: Flask) -> None:
    build, claims = Builds(), []

    def claim_lost_to_another_process(stamp: int) -> bool:
        claims.append(stamp)
        return False

    view = LocalView(build, shared=lambda stamp: None, claim=claim_lost_to_another_process)
    assert view.get(1) == (1, 1)
    assert claims == []


def test_the_process_that_wins_the_claim_builds_the_new_stamp(app: Flask) -> None:
    build = Builds()
    view = LocalView(build, shared=lambda stamp: None, claim=lambda stamp: True)
    view.get(1)
    assert view.get(2) == (2, 2)


def test_a_failed_build_keeps_the_previous_value_out_and_is_tried_again(app: Flask) -> None:
    attempts: list[int] = []

    def build(stamp: int) -> int:
        attempts.append(stamp)
        if len(attempts) == 1:
            raise ConnectionError("database down")
        return stamp * 10

    view = LocalView(build)
    with pytest.raises(ConnectionError):
        view.get(1)
    assert view.get(1) == 10
    assert attempts == [1, 1]


def test_each_app_holds_its_own_value(app: Flask) -> None:
    build = Builds()
    view = LocalView(build)
    view.get(1)
    with Flask("another").app_context():
        assert view.get(1) == (1, 2)
    assert view.get(1) == (1, 1)


def test_clear_forgets_one_view_and_reset_forgets_every_view_of_the_app(app: Flask) -> None:
    first, second = LocalView(Builds()), LocalView(Builds())
    first.get(1), second.get(1)
    first.clear()
    assert first.get(1) == (1, 2) and second.get(1) == (1, 1)
    reset_local_views(app)
    assert first.get(1) == (1, 3) and second.get(1) == (1, 2)


def test_threads_of_one_process_build_a_stamp_once(app: Flask) -> None:
    building, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def slow_build(stamp: int) -> int:
        calls.append(stamp)
        building.set()
        release.wait(timeout=5)
        return stamp

    view = LocalView(slow_build)
    answers: list[int] = []

    def ask() -> None:
        with app.app_context():
            answers.append(view.get(7))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    threads[0].start()
    building.wait(timeout=5)  # the first thread holds the lock, building
    for thread in threads[1:]:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(timeout=5)
    assert answers == [7] * 8 and calls == [7]
