"""The per-process fixed windows that stand in for Redis while it is down."""

from __future__ import annotations

import threading

from app.platform.local_rate_limit import LocalWindows


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_hits_of_a_key_are_counted_within_its_window():
    windows = LocalWindows(clock=Clock(1_000_020.0))
    assert [windows.count("login:1.2.3.4", 60)[0] for _ in range(3)] == [1, 2, 3]
    assert windows.count("login:5.6.7.8", 60)[0] == 1


def test_the_count_starts_again_in_the_next_window_and_says_when_the_window_ends():
    clock = Clock(1_000_040.0)  # 20 s into a 60 s window (1_000_020 is a multiple of 60)
    windows = LocalWindows(clock=clock)
    windows.count("k", 60)
    assert windows.count("k", 60) == (2, 40.0)
    clock.now += 40
    assert windows.count("k", 60) == (1, 60.0)


def test_no_more_windows_are_kept_than_the_bound_the_oldest_going_first():
    clock = Clock()
    windows = LocalWindows(max_keys=3, clock=clock)
    for key in ("a", "b", "c"):
        windows.count(key, 60)
    windows.count("a", 60)
    windows.count("d", 60)
    assert len(windows) == 3
    assert windows.count("a", 60)[0] == 1  # "a" was the oldest window: it went for "d"
    assert windows.count("d", 60)[0] == 2


def test_expired_windows_are_dropped_before_live_ones():
    clock = Clock(1_000_020.0)
    windows = LocalWindows(max_keys=10, clock=clock)
    windows.count("short", 10)
    windows.count("long", 3600)
    clock.now += 10
    windows.count("new", 60)
    assert len(windows) == 2
    assert windows.count("long", 3600)[0] == 2


def test_threads_hitting_one_key_lose_no_count():
    windows = LocalWindows(clock=Clock())
    barrier = threading.Barrier(8)

    def hit_many() -> None:
        barrier.wait()
        for _ in range(500):
            windows.count("k", 60)

    threads = [threading.Thread(target=hit_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert windows.count("k", 60)[0] == 8 * 500 + 1
