"""The per-process cache: entries expire, the least recently used go first."""

from __future__ import annotations

from app.platform.caches import LocalCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_is_served_until_its_time_to_live_has_passed() -> None:
    clock = Clock()
    cache = LocalCache(max_entries=4, ttl_seconds=2.0, clock=clock)
    cache.put("hot", b"answer")
    clock.now = 2.0
    assert cache.get("hot") == b"answer"
    clock.now = 2.5
    assert cache.get("hot") is None


def test_the_least_recently_used_entry_goes_first_when_the_cache_is_full() -> None:
    cache = LocalCache(max_entries=2, ttl_seconds=60.0, clock=Clock())
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # now "b" is the least recently used
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)


def test_clear_empties_the_cache() -> None:
    cache = LocalCache(max_entries=2, ttl_seconds=60.0)
    cache.put("a", 1)
    cache.clear()
    assert cache.get("a") is None
