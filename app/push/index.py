"""The audience index: one compressed bitmap (pyroaring) of user ids per tag.

MySQL's memberships are the truth; the index is derived from them and follows the change log:
- each process (web or Celery worker) holds the bitmaps in memory and, before each use, applies
  the changes logged since the last one it applied (one indexed read, usually empty);
- Redis holds a shared snapshot with the log position it reflects, so a new process loads it and
  replays only what came after instead of reading every membership;
- with no usable snapshot (none, or older than the log still kept), the index is rebuilt from the
  memberships: a lost or stale index is rebuilt, never trusted.

Sequence numbers are taken when a transaction writes its change, not when it commits, so a
lower number can appear after a higher one. Numbers skipped over are kept as gaps and asked for
again until they show up or are old enough to be a rolled-back transaction's.

User ids must be below 2³² (a 32-bit roaring bitmap): 35 million users is far from it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from pyroaring import BitMap, FrozenBitMap

from app.extensions import db, redis_store
from app.models.tag import TagChange, TagMembership
from app.platform.local_views import local_state
from app.platform.orm import utcnow
from app.push.expressions import covers

UNIVERSE_TAG = "user:registered"  # everyone who may be targeted at all
EMPTY = FrozenBitMap()
SNAPSHOT_KEY = "audience:snapshot"
SNAPSHOT_META_KEY = "audience:snapshot:meta"
# How long the change log is kept; a snapshot (or a process) further behind is rebuilt.
LOG_KEPT = timedelta(days=7)
STALE_AFTER = timedelta(days=3)
# A skipped sequence number is asked for again this long before it counts as rolled back.
GAP_PATIENCE_S = 60.0
# After a rebuild, the changes of the last minute are replayed: one still uncommitted when the
# memberships were read would otherwise be behind the rebuild's position forever.
REBUILD_REPLAY = timedelta(seconds=60)
BATCH = 10_000


class PatternUnions:
    """Unions of the tags a pattern covers, each kept with the versions of those tags."""

    LIMIT = 256  # patterns kept; the least recently built go first

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}  # tag -> changes applied to it
        self._kept: dict[str, tuple[tuple[tuple[str, int], ...], FrozenBitMap]] = {}
        self._covered: dict[str, tuple[int, list[str]]] = {}

    def changed(self, tag: str) -> None:
        self.versions[tag] = self.versions.get(tag, 0) + 1

    def get(self, patterns: tuple[str, ...], tags: dict[str, BitMap]) -> FrozenBitMap | None:
        """The union of every tag the patterns cover (None when that is one tag or none)."""
        if any(":" not in p for p in patterns):
            return None  # `*`: every tag, not worth keeping
        key = " OR ".join(patterns)
        # Which tags the patterns cover changes only when a tag appears (none is ever removed
        # from the index's dict): kept per pattern with the number of tags it was worked out on.
        known = self._covered.get(key)
        if known is None or known[0] != len(tags):
            known = (len(tags), sorted({t for p in patterns for t in tags
                                        if t.startswith(p.partition(":")[0] + ":")
                                        and covers(p, t)}))
            self._covered[key] = known
        covered = known[1]
        if len(covered) < 2:
            return None  # a tag's own bitmap needs no union
        stamp = tuple((t, self.versions.get(t, 0)) for t in covered)
        kept = self._kept.get(key)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        union = FrozenBitMap(BitMap.union(*(tags[t] for t in covered)))
        self._kept.pop(key, None)
        self._kept[key] = (stamp, union)
        while len(self._kept) > self.LIMIT:
            self._kept.pop(next(iter(self._kept)))
        if len(self._covered) > 4 * self.LIMIT:
            self._covered.clear()
        return union


@dataclass
class _State:
    tags: dict[str, BitMap] = field(default_factory=dict)
    seq: int = 0
    gaps: dict[int, float] = field(default_factory=dict)  # seq -> monotonic time first missed
    loaded: bool = False
    caught_up_at: float = 0.0
    unions: PatternUnions = field(default_factory=PatternUnions)


class IndexView:
    """What the expression evaluator reads (`app.push.evaluation.TagSource`), valid while held."""

    def __init__(self, tags: dict[str, BitMap], seq: int,
                 unions: PatternUnions | None = None) -> None:
        self._tags = tags
        self.seq = seq
        self._unions = unions

    def pattern_bitmap(self, *patterns: str) -> FrozenBitMap | None:
        """The union of the tags the patterns cover (a prefix, or an OR of tags), kept between
        evaluations while none of them changes: a province's counties or two age bands are
        otherwise merged again on every preview."""
        return self._unions.get(patterns, self._tags) if self._unions is not None else None

    def tag_names(self) -> Iterable[str]:
        return self._tags.keys()

    def bitmap(self, tag: str) -> BitMap:
        return self._tags.get(tag, EMPTY)

    def universe(self) -> BitMap:
        return self._tags.get(UNIVERSE_TAG, EMPTY)


class AudienceIndex:
    """One process's copy of the index; threads share it under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = _State()

    @contextmanager
    def reading(self) -> Iterator[IndexView]:
        """The index brought up to date, held still while the caller evaluates."""
        with self._lock, db.engine.connect() as conn:
            self._ensure_loaded(conn)
            self._catch_up(conn)
            yield IndexView(self._state.tags, self._state.seq, self._state.unions)

    def refresh(self) -> int:
        """Apply pending changes; the log position reached."""
        with self._lock, db.engine.connect() as conn:
            self._ensure_loaded(conn)
            self._catch_up(conn)
            return self._state.seq

    def rebuild(self) -> int:
        """Read every counting membership again; the number read."""
        with self._lock, db.engine.connect() as conn:
            return self._rebuild(conn)

    def forget(self) -> None:
        """Drop the in-memory copy (the next use loads or rebuilds it)."""
        with self._lock:
            self._state = _State()

    # -- loading -------------------------------------------------------------------------------

    def _ensure_loaded(self, conn: Any) -> None:
        state = self._state
        if state.loaded and time.monotonic() - state.caught_up_at < STALE_AFTER.total_seconds():
            return
        if not self._load_snapshot():
            self._rebuild(conn)

    def _load_snapshot(self) -> bool:
        def read(r):  # type: ignore[no-untyped-def]
            meta = r.hgetall(SNAPSHOT_META_KEY)
            return (meta, r.hgetall(SNAPSHOT_KEY)) if meta else None

        found = redis_store.attempt(read, None, binary=True)
        if not found:
            return False
        meta, blobs = found
        taken = float(meta.get(b"taken_at", b"0"))
        if time.time() - taken > STALE_AFTER.total_seconds():
            return False
        state = _State(tags={k.decode(): BitMap.deserialize(v) for k, v in blobs.items()},
                       seq=int(meta[b"seq"]), loaded=True, caught_up_at=time.monotonic())
        now = time.monotonic()
        state.gaps = {int(s): now for s in meta.get(b"gaps", b"").split(b",") if s}
        self._state = state
        return True

    def _rebuild(self, conn: Any) -> int:
        started = utcnow()
        position = conn.scalar(sa.select(sa.func.max(TagChange.seq))) or 0
        tags: dict[str, BitMap] = {}
        read = 0
        now = utcnow()
        rows = conn.execute(
            sa.select(TagMembership.tag, TagMembership.user_id)
            .where(TagMembership.disputed_at.is_(None),
                   sa.or_(TagMembership.expires_at.is_(None), TagMembership.expires_at > now))
            .execution_options(yield_per=50_000))
        for tag, user_id in rows:
            bitmap = tags.get(tag)
            if bitmap is None:
                bitmap = tags[tag] = BitMap()
            bitmap.add(user_id)
            read += 1
        for bitmap in tags.values():
            bitmap.run_optimize()
        recent = conn.scalar(sa.select(sa.func.min(TagChange.seq)).where(
            TagChange.at >= started - REBUILD_REPLAY))
        replay_from = min(position, recent - 1) if recent is not None else position
        self._state = _State(tags=tags, seq=replay_from, loaded=True,
                             caught_up_at=time.monotonic())
        conn.commit()  # ends the read transaction: the replay sees later commits
        self._catch_up(conn)
        return read

    # -- following the log ---------------------------------------------------------------------

    def _catch_up(self, conn: Any) -> None:
        state = self._state
        last = conn.scalar(sa.select(sa.func.max(TagChange.seq))) or 0
        if last < state.seq:
            # The log is younger than the index (a database restored or emptied): rebuild.
            self._rebuild(conn)
            return
        now = time.monotonic()
        state.gaps = {s: t for s, t in state.gaps.items() if now - t < GAP_PATIENCE_S}
        while True:
            condition = TagChange.seq > state.seq
            if state.gaps:
                condition = sa.or_(condition, TagChange.seq.in_(list(state.gaps)))
            changes = conn.execute(
                sa.select(TagChange.seq, TagChange.tag, TagChange.user_id, TagChange.present)
                .where(condition).order_by(TagChange.seq).limit(BATCH)).all()
            for seq, tag, user_id, present in changes:
                self._apply(tag, user_id, present)
                state.gaps.pop(seq, None)
                if seq > state.seq:
                    state.gaps.update((s, now) for s in range(state.seq + 1, seq))
                    state.seq = seq
            if len(changes) < BATCH:
                break
        state.caught_up_at = now
        conn.commit()  # ends the read transaction: the next catch-up sees new commits

    def _apply(self, tag: str, user_id: int, present: bool) -> None:
        tags = self._state.tags
        self._state.unions.changed(tag)
        if present:
            bitmap = tags.get(tag)
            if bitmap is None:
                bitmap = tags[tag] = BitMap()
            bitmap.add(user_id)
        elif tag in tags:
            tags[tag].discard(user_id)

    # -- the shared snapshot -------------------------------------------------------------------

    def save_snapshot(self) -> int:
        """Write the index to Redis for other processes to start from; bytes written."""
        with self._lock, db.engine.connect() as conn:
            self._ensure_loaded(conn)
            self._catch_up(conn)
            state = self._state
            blobs = {tag: bitmap.serialize() for tag, bitmap in state.tags.items() if bitmap}
            meta = {"seq": state.seq, "taken_at": time.time(),
                    "gaps": ",".join(str(s) for s in sorted(state.gaps))}

        def write(r):  # type: ignore[no-untyped-def]
            pipe = r.pipeline(transaction=True)
            pipe.delete(SNAPSHOT_KEY, SNAPSHOT_META_KEY)
            if blobs:
                pipe.hset(SNAPSHOT_KEY, mapping=blobs)
            pipe.hset(SNAPSHOT_META_KEY, mapping=meta)
            pipe.execute()
            return True

        redis_store.attempt(write, False, binary=True)
        return sum(len(b) for b in blobs.values())


def audience_index() -> AudienceIndex:
    """This process's index for the current app."""
    state = local_state(current_app)
    index = state.get("audience_index")
    if index is None:
        index = state.setdefault("audience_index", AudienceIndex())
    return index


def prune_log() -> int:
    """Delete change-log lines older than the log is kept; the number deleted."""
    cutoff = utcnow() - LOG_KEPT
    deleted = db.session.execute(sa.delete(TagChange).where(TagChange.at < cutoff)).rowcount
    db.session.commit()
    return deleted or 0
