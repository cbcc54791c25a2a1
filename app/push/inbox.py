"""The in-app inbox (站内消息): a person's messages are the live push runs whose recipient
bitmap holds them, merged newest first; nothing is written per person until they act.

A process keeps the live runs (done, not stopped, started within `INBOX_DAYS`) with each run's
bitmap deserialized once: a run's recipients never change. Which runs are live is read again
at most every `LIVE_RUNS_MAX_AGE_SECONDS`, so a stopped run (the kill switch) leaves every
inbox, and a new one reaches it, within seconds. Reading, clicking and dismissing write the
person's `PushMessageState` row, keeping the first time of each. Categories the person mutes
are hidden at once, messages of runs already sent included.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from pyroaring import FrozenBitMap

from app.extensions import db
from app.models import User
from app.models.push import PushMessageState, PushRule, PushRun
from app.platform.errors import NotFound
from app.platform.local_views import LocalView, local_state
from app.platform.orm import utcnow
from app.platform.pages import Page
from app.push.preferences import preferences_of
from app.push.why import RuleFacts, explain

LIVE_RUNS_MAX_AGE_SECONDS = 2.0
# A run of at most this many people (an event rule's run is one person's) is found through a
# look-up by person; the others are asked `user_id in bitmap` one by one.
FEW_RECIPIENTS = 16
LOAD_CHUNK = 100  # runs whose bitmaps one query reads
_CARRIED = "push_inbox_runs"  # local_state key: the runs loaded so far, by id


@dataclass(frozen=True)
class LiveRun:
    """One run as the inbox shows it, with its recipients and what `why` needs of its rule."""

    id: int
    title: str
    body: str
    category: str
    started_at: datetime
    recipients: FrozenBitMap
    rule: RuleFacts
    target_kind: str
    target_code: str


@dataclass(frozen=True)
class LiveRuns:
    """The live runs of one moment: the many-recipient ones newest first, the few-recipient
    ones by person."""

    broad: tuple[LiveRun, ...] = ()
    by_user: dict[int, tuple[LiveRun, ...]] = field(default_factory=dict)
    by_id: dict[int, LiveRun] = field(default_factory=dict)

    def containing(self, user_id: int) -> list[LiveRun]:
        """The runs that reach the person, newest first."""
        found = [run for run in self.broad if user_id in run.recipients]
        few = self.by_user.get(user_id)
        if few:
            found = sorted([*found, *few], key=_newest_first)
        return found


def _newest_first(run: LiveRun) -> tuple[float, int]:
    return -run.started_at.timestamp(), -run.id


@dataclass(frozen=True)
class Entry:
    """A run that reaches the person, with what they did with it."""

    run: LiveRun
    read_at: datetime | None = None
    clicked_at: datetime | None = None
    dismissed_at: datetime | None = None


# -- the live runs, per process ----------------------------------------------------------------

def _window_start() -> datetime:
    return utcnow() - timedelta(days=current_app.config["INBOX_DAYS"])


def _live_ids(window_start: datetime) -> list[int]:
    # Served by ix_push_runs_started (status, started_at): a few hundred small rows.
    return list(db.session.scalars(sa.select(PushRun.id).where(
        PushRun.status == "done", PushRun.stopped_at.is_(None),
        PushRun.started_at >= window_start)))


def _read_runs(ids: Sequence[int], window_start: datetime) -> dict[int, LiveRun]:
    """Live runs by id with their rules; the bitmaps deserialized here, once per process."""
    loaded: dict[int, LiveRun] = {}
    for start in range(0, len(ids), LOAD_CHUNK):
        rows = db.session.execute(sa.select(
            PushRun.id, PushRun.title, PushRun.body, PushRun.category, PushRun.started_at,
            PushRun.recipients, PushRule.id.label("rule_id"), PushRule.name, PushRule.reason,
            PushRule.audience, PushRule.target_kind, PushRule.target_code,
        ).join(PushRule, PushRule.id == PushRun.rule_id).where(
            PushRun.id.in_(ids[start:start + LOAD_CHUNK]), PushRun.status == "done",
            PushRun.stopped_at.is_(None), PushRun.started_at >= window_start))
        for row in rows:
            loaded[row.id] = LiveRun(
                row.id, row.title, row.body, row.category, row.started_at,
                FrozenBitMap.deserialize(row.recipients),
                RuleFacts.of(row.rule_id, row.name, row.reason, row.audience),
                row.target_kind, row.target_code)
    return loaded


def _load_live_runs(_: object) -> LiveRuns:
    """The live runs now: their ids read afresh, runs this process has not seen loaded."""
    window_start = _window_start()
    ids = _live_ids(window_start)
    state = local_state(current_app._get_current_object())  # type: ignore[attr-defined]
    carried: dict[int, LiveRun] = state.get(_CARRIED, {})
    runs = {run_id: carried[run_id] for run_id in ids if run_id in carried}
    runs.update(_read_runs([run_id for run_id in ids if run_id not in runs], window_start))
    state[_CARRIED] = runs  # runs that left (stopped, too old) are dropped with their bitmaps
    broad: list[LiveRun] = []
    by_user: dict[int, list[LiveRun]] = {}
    for run in sorted(runs.values(), key=_newest_first):
        if len(run.recipients) <= FEW_RECIPIENTS:
            for user_id in run.recipients:
                by_user.setdefault(user_id, []).append(run)
        else:
            broad.append(run)
    return LiveRuns(tuple(broad), {user_id: tuple(found) for user_id, found in by_user.items()},
                    runs)


_live = LocalView(_load_live_runs, max_age_seconds=LIVE_RUNS_MAX_AGE_SECONDS)


def live_runs(*, refresh: bool = False) -> LiveRuns:
    """This process's live runs, read again when older than a couple of seconds (or now)."""
    return _live.get(refresh=refresh)


def forget_live_runs() -> None:
    """Make the next caller read the live runs again (a run just finished in this process)."""
    _live.clear()


# -- a person's inbox --------------------------------------------------------------------------

def _states(user_id: int, runs: Iterable[LiveRun]) -> dict[int, Any]:
    """The person's rows for these runs (one query; none when there are no runs)."""
    ids = {run.id for run in runs}
    if not ids:
        return {}
    # A range on the (user_id, run_id) unique index rather than a long IN list.
    rows = db.session.execute(sa.select(
        PushMessageState.run_id, PushMessageState.read_at, PushMessageState.clicked_at,
        PushMessageState.dismissed_at).where(
        PushMessageState.user_id == user_id, PushMessageState.run_id >= min(ids),
        PushMessageState.run_id <= max(ids)))
    return {row.run_id: row for row in rows if row.run_id in ids}


def _muted(user: User) -> set[str]:
    return set(preferences_of(user)["muted_categories"])


def _entries(user: User) -> list[Entry]:
    """The person's messages, newest first: live runs that reach them, but for dismissed ones
    and categories they mute now."""
    runs = live_runs().containing(user.id)
    if not runs:
        return []  # no query at all for the many people without messages
    muted = _muted(user)
    runs = [run for run in runs if run.category not in muted]
    states = _states(user.id, runs)
    entries = [_entry(run, states.get(run.id)) for run in runs]
    return [entry for entry in entries if entry.dismissed_at is None]


def _entry(run: LiveRun, state: Any) -> Entry:
    if state is None:
        return Entry(run)
    return Entry(run, state.read_at, state.clicked_at, state.dismissed_at)


def unread_count(user: User) -> int:
    """How many of the person's messages are unread (what /home shows)."""
    return sum(1 for entry in _entries(user) if entry.read_at is None)


def messages_for(user: User, *, unread_only: bool = False, page: int = 1,
                 per_page: int = 20) -> Page:
    """One page of the person's messages, newest first, each with why it reached them."""
    entries = _entries(user)
    if unread_only:
        entries = [entry for entry in entries if entry.read_at is None]
    shown = entries[(page - 1) * per_page:page * per_page]
    reasons = explain(user.id, [entry.run.rule for entry in shown])
    return Page([message_view(entry, reasons[entry.run.rule.id]) for entry in shown], page,
                per_page, len(entries))


def message_view(entry: Entry, why: dict[str, Any]) -> dict[str, Any]:
    """A message as the API shows it: its id is the run's (a person gets a run once)."""
    run = entry.run
    return {
        "id": str(run.id), "title": run.title, "body": run.body,
        "service_code": (run.target_code or None) if run.target_kind == "service" else None,
        "target": {"kind": run.target_kind, "code": run.target_code or None},
        "category": run.category, "why": why, "created_at": run.started_at,
        "read_at": entry.read_at, "clicked_at": entry.clicked_at,
    }


def _reaching(user: User, run_id: int) -> LiveRun:
    """The live run `run_id` if it reaches the person in a category they do not mute;
    otherwise, theirs or not, it does not exist."""
    run = live_runs().by_id.get(run_id)
    if run is None:
        # Finished since this process last looked (a link in a WeChat message, say).
        run = _read_runs([run_id], _window_start()).get(run_id)
    if run is None or user.id not in run.recipients or run.category in _muted(user):
        raise NotFound("消息不存在", errors={"message_id": ["not found"]})
    return run


def _open(user: User, run_id: int) -> Entry:
    """The person's message `run_id` with what they did with it; a dismissed one is gone."""
    run = _reaching(user, run_id)
    entry = _entry(run, _states(user.id, [run]).get(run.id))
    if entry.dismissed_at is not None:
        raise NotFound("消息不存在", errors={"message_id": ["not found"]})
    return entry


def _shown(user: User, entry: Entry) -> dict[str, Any]:
    rule = entry.run.rule
    return message_view(entry, explain(user.id, [rule])[rule.id])


def message(user: User, run_id: int) -> dict[str, Any]:
    """One of the person's messages; another's, a dismissed or an unknown one: 404 alike."""
    return _shown(user, _open(user, run_id))


# The person's row for a run, made by whichever request comes first; the rest find it there.
_ENSURE_STATE = (sa.insert(PushMessageState)
                 .prefix_with("IGNORE", dialect="mysql")
                 .prefix_with("IGNORE", dialect="mariadb")
                 .prefix_with("OR IGNORE", dialect="sqlite"))


def _stamp(user: User, run: LiveRun, *columns: str) -> None:
    """Set each of `columns` to now where it is still empty: repeating changes nothing, and
    of two requests at once the first time stays."""
    db.session.execute(_ENSURE_STATE, [{"user_id": user.id, "run_id": run.id}])
    now = utcnow()
    for name in columns:
        column = getattr(PushMessageState, name)
        db.session.execute(
            sa.update(PushMessageState).where(
                PushMessageState.user_id == user.id, PushMessageState.run_id == run.id,
                column.is_(None)).values({name: now}).execution_options(
                synchronize_session=False))


def mark_read(user: User, run_id: int) -> dict[str, Any]:
    """The person opened the message; the message as it is now."""
    return _acted(user, _open(user, run_id), "read_at")


def mark_clicked(user: User, run_id: int) -> dict[str, Any]:
    """The person followed the message to its service (which reads it too)."""
    return _acted(user, _open(user, run_id), "read_at", "clicked_at")


def _acted(user: User, entry: Entry, *columns: str) -> dict[str, Any]:
    run = entry.run
    _stamp(user, run, *columns)
    return _shown(user, _entry(run, _states(user.id, [run]).get(run.id)))


def dismiss(user: User, run_id: int) -> None:
    """The person removed the message from their inbox; dismissing it again changes nothing."""
    _stamp(user, _reaching(user, run_id), "dismissed_at")
