"""Frequency caps as set algebra: who has already had as many messages as a cap allows.

A cap counts runs, and a run's recipients are a bitmap, so "people who got at least N of these
runs" is computed by bit-sliced counting over the runs' bitmaps: a handful of set operations
per run, never a step per person. Three caps apply to a run:

- the rule's own `cap_per_day` and `cap_per_week`: its runs in the current China day and ISO
  week (Monday 00:00 China time);
- the global `PUSH_DAILY_CAP`: every scheduled (once or cron) run of the China day, whatever
  its rule. Urgent rules are not held back by it (their runs still count towards it). Event
  runs, which tell one person about their own case or certificate, neither count towards it
  nor are held back by it: only their rule's own caps apply to them.

Only runs still `done` count: a stopped run's messages left the inboxes. A cap of None or
below 1 is no cap. Done runs never change, so their bitmaps are kept per process (an LRU
bounded in count and bytes), and a cap check reads from the database only the runs it has not
seen yet.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from pyroaring import BitMap, FrozenBitMap

from app.extensions import db
from app.models.push import PushRule, PushRun
from app.platform.clock import CHINA_TZ
from app.platform.local_views import local_state

BROADCAST_TRIGGERS = ("once", "cron")
CACHED_RUNS = 300  # bitmaps kept per process
CACHED_BYTES = 256 * 2**20  # and their size: a province-wide bitmap is a few megabytes
READ_CHUNK = 200  # blobs read from the database per query


def at_least(bitmaps: Iterable[BitMap], count: int) -> BitMap:
    """The people found in at least `count` of the bitmaps.

    levels[k] holds who is in at least k of the bitmaps seen so far; each new bitmap moves its
    members up one level (from the top down, so nobody climbs twice for one bitmap)."""
    if count < 1:
        raise ValueError("count must be at least 1")
    levels = [BitMap() for _ in range(count + 1)]  # levels[0] is unused
    for bitmap in bitmaps:
        for k in range(count, 1, -1):
            if levels[k - 1]:
                levels[k] |= levels[k - 1] & bitmap
        levels[1] |= bitmap
    return levels[count]


def day_start(now: datetime) -> datetime:
    """Midnight China time of the China day `now` falls on."""
    return datetime.combine(now.astimezone(CHINA_TZ).date(), time(), CHINA_TZ)


def week_start(now: datetime) -> datetime:
    """Monday 00:00 China time of the ISO week `now` falls on."""
    start = day_start(now)
    return start - timedelta(days=start.weekday())


class RunBitmaps:
    """Recipient bitmaps of done runs by run id; the least recently used are dropped past
    `size` bitmaps or `max_bytes` of them (counted as their serialized size)."""

    def __init__(self, size: int = CACHED_RUNS, max_bytes: int = CACHED_BYTES) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self._held: OrderedDict[int, tuple[FrozenBitMap, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._held)

    def get_many(self, run_ids: Sequence[int]) -> list[FrozenBitMap]:
        """The bitmaps of these runs, in the order given; unknown ids are left out."""
        found: dict[int, FrozenBitMap] = {}
        with self._lock:
            for run_id in run_ids:
                held = self._held.get(run_id)
                if held is not None:
                    self._held.move_to_end(run_id)
                    found[run_id] = held[0]
        missing = [run_id for run_id in run_ids if run_id not in found]
        for start in range(0, len(missing), READ_CHUNK):
            chunk = missing[start:start + READ_CHUNK]
            for run_id, blob in db.session.execute(
                    sa.select(PushRun.id, PushRun.recipients).where(PushRun.id.in_(chunk))):
                found[run_id] = FrozenBitMap.deserialize(blob)
                self._keep(run_id, found[run_id], len(blob))
        return [found[run_id] for run_id in run_ids if run_id in found]

    def _keep(self, run_id: int, bitmap: FrozenBitMap, size_bytes: int) -> None:
        with self._lock:
            previous = self._held.pop(run_id, None)
            self._bytes -= previous[1] if previous else 0
            self._held[run_id] = (bitmap, size_bytes)
            self._bytes += size_bytes
            while self._held and (len(self._held) > self.size or self._bytes > self.max_bytes):
                _, (_, dropped) = self._held.popitem(last=False)
                self._bytes -= dropped


def run_bitmaps() -> RunBitmaps:
    """This process's cache for the current app (forgotten with the app's local views, as
    run ids start again when a test empties the tables)."""
    state = local_state(current_app)
    cache = state.get("push_run_bitmaps")
    if cache is None:
        cache = state.setdefault("push_run_bitmaps", RunBitmaps())
    return cache


def _cap(value: int | None) -> int | None:
    return value if value is not None and value >= 1 else None


def capped(rule: PushRule, *, trigger: str, now: datetime,
           candidates: BitMap | None = None) -> BitMap:
    """Who has reached one of the caps that hold for this run of `rule` before it starts.

    With `candidates` (a one-person event run), each run's bitmap is narrowed to them first,
    so the counting works on a few ids whatever the runs' sizes."""
    counts: list[tuple[int, list[int]]] = []
    per_day, per_week = _cap(rule.cap_per_day), _cap(rule.cap_per_week)
    if per_day or per_week:
        today, week = day_start(now), week_start(now)
        own = db.session.execute(sa.select(PushRun.id, PushRun.started_at).where(
            PushRun.rule_id == rule.id, PushRun.status == "done",
            PushRun.started_at >= min(today, week), PushRun.started_at <= now)).all()
        if per_day:
            counts.append((per_day, [i for i, started in own if started >= today]))
        if per_week:
            counts.append((per_week, [i for i, started in own if started >= week]))
    daily = _cap(current_app.config["PUSH_DAILY_CAP"])
    if daily and trigger in BROADCAST_TRIGGERS and rule.priority != "urgent":
        counts.append((daily, list(db.session.scalars(sa.select(PushRun.id).where(
            PushRun.status == "done", PushRun.started_at >= day_start(now),
            PushRun.started_at <= now, PushRun.trigger.in_(BROADCAST_TRIGGERS))))))
    reached = BitMap()
    for cap, run_ids in counts:
        if len(run_ids) < cap:
            continue  # nobody can have had more messages than there were runs
        bitmaps: Iterable[BitMap] = run_bitmaps().get_many(sorted(run_ids))
        if candidates is not None:
            bitmaps = (bitmap & candidates for bitmap in bitmaps)
        reached |= at_least(bitmaps, cap)
    return reached
