"""One person's WeChat subscribe message of one run: decided, claimed, sent, recorded.

At send time, not only at the snapshot, a person is skipped who muted the run's category
(`muted`), turned WeChat messages off (`opted_out`) or has no consent for the template
(`no_consent`); they still have the inbox message. In their quiet hours a rule that is not
urgent waits (`deferred`) until the window ends.

At most once, whatever crashes: the send is claimed first (its row written as `claimed`, a
credit used, both committed in one transaction), WeChat is called once, and the outcome is
written. A worker that dies in between leaves the claim, which `sweep` marks `unknown` and
nobody sends again. The client makes one attempt per call, so no hidden retry can repeat a
message whose answer was lost; only answers that say WeChat did not take it (busy `-1`,
a rejected access token, the per-minute quota, an open circuit) are retried later (`busy`),
with the credit given back until then. WeChat's 43101 (no subscription left) spends the
person's credits. Sends of all workers together keep under `WECHAT_SENDS_PER_SECOND`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.exc import IntegrityError

from app.extensions import db, redis_store
from app.models.push_delivery import PushSend
from app.platform.app_services import AppService
from app.platform.clock import CHINA_TZ
from app.platform.local_rate_limit import local_windows
from app.platform.orm import utcnow
from app.push import consent
from app.push.quiet_hours import quiet_until
from app.push.wechat_content import Content
from app.wechat import (
    AccessTokenRejected,
    CircuitBreaker,
    CircuitOpen,
    MinuteQuotaReached,
    SubscriptionRefused,
    WeChatBusy,
    WeChatClient,
    WeChatError,
    WeChatUnavailable,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 4  # the first call and three retries
RETRY_BASE_SECONDS = 30  # then 60 and 120
# Longer than any live claim takes (one call within WECHAT_CALL_BUDGET, and two commits).
CLAIM_TIMEOUT = timedelta(minutes=5)
RATE_KEY = "wechat:sends"
NO_CREDIT = -1  # what `claim` answers when the person's consent ran out
# Answers that say WeChat did not take the message and may take it later.
NOT_TAKEN = (WeChatBusy, AccessTokenRejected, MinuteQuotaReached, CircuitOpen)


def build_send_client(app: Flask) -> WeChatClient:
    """A client for subscribe messages: one attempt per call (see the module's docstring);
    the access token is the one every client of the app shares through Redis."""
    return WeChatClient(
        app.config["WECHAT_API_BASE"], app.config["WECHAT_APPID"], app.config["WECHAT_SECRET"],
        app.extensions["redis"].client, timeout=float(app.config["WECHAT_TIMEOUT"]),
        max_attempts=1, budget_seconds=float(app.config["WECHAT_CALL_BUDGET"]),
        breaker=CircuitBreaker(int(app.config["WECHAT_BREAKER_FAILURES"]),
                               float(app.config["WECHAT_BREAKER_COOL_DOWN"])))


send_client: AppService[WeChatClient] = AppService("wechat_sends", build_send_client)


class SendRate:
    """A fixed one-second window shared by every worker through Redis (each process counts
    for itself while Redis is down)."""

    def __init__(self, per_second: int, clock: Callable[[], float] = time.time) -> None:
        self.per_second = max(1, per_second)
        self.clock = clock

    def wait_seconds(self) -> float:
        """Count one send now: 0 when it may go, else the seconds until the next window."""
        now = self.clock()
        second = int(now)
        key = f"{RATE_KEY}:{second}"

        def count(client: redis.Redis) -> int:
            pipe = client.pipeline()
            pipe.incr(key)
            pipe.expire(key, 2)
            return pipe.execute()[0]

        sent = redis_store.attempt(count, None)
        if sent is None:
            sent, _ = local_windows().count(RATE_KEY, 1)
        return 0.0 if sent <= self.per_second else (second + 1) - now


def configured_rate() -> SendRate:
    return SendRate(int(current_app.config["WECHAT_SENDS_PER_SECOND"]))


def take_send_slot(rate: SendRate, sleep: Callable[[float], None] = time.sleep) -> None:
    """Wait until the global send rate lets one more message go."""
    while (wait := rate.wait_seconds()) > 0:
        sleep(wait)


@dataclass(frozen=True)
class RunFacts:
    """What sending a run needs of it and its rule, read once per chunk."""

    run_id: int
    rule_id: int
    category: str
    urgent: bool
    content: Content


@dataclass(frozen=True)
class Person:
    """A recipient as the send sees them now."""

    user_id: int
    openid: str
    preferences: dict[str, Any]
    has_credit: bool  # a hint read with the others; the claim decides


@dataclass(frozen=True)
class Waiting:
    """A send that waits (busy or deferred), as it was read."""

    id: int
    user_id: int
    status: str
    attempts: int


@dataclass(frozen=True)
class Result:
    """Where a person's send stands after `attempt`; `retry_in` seconds for a busy one.
    `status` is empty when another worker holds the person's send."""

    status: str
    send_id: int | None = None
    retry_in: int = 0


def verdict(facts: RunFacts, person: Person, now: datetime) -> tuple[str, datetime | None]:
    """("send", None), a skip reason, or ("deferred", when the quiet hours end)."""
    preferences = person.preferences
    if facts.category in preferences["muted_categories"]:
        return "muted", None
    if not preferences["wechat_enabled"]:
        return "opted_out", None
    if not person.has_credit:
        return "no_consent", None
    if not facts.urgent:
        until = quiet_until(preferences["quiet_hours"], now)
        if until is not None:
            return "deferred", until
    return "send", None


def attempt(facts: RunFacts, person: Person, waiting: Waiting | None, *,
            now: datetime | None = None, rate: SendRate | None = None,
            sleep: Callable[[float], None] = time.sleep) -> Result:
    """Decide about the person's message and, when it is due, send it (committing each step);
    `rate` defaults to WECHAT_SENDS_PER_SECOND."""
    now = now or utcnow()
    decision, until = verdict(facts, person, now)
    if decision != "send":
        moved = settle(facts, person.user_id, waiting, decision, not_before=until)
        db.session.commit()
        return Result(decision if moved else "")
    take_send_slot(rate or configured_rate(), sleep)
    send_id = claim(facts, person.user_id, waiting)
    if send_id is None:
        return Result("")
    if send_id == NO_CREDIT:
        return Result("no_consent")
    attempts = waiting.attempts if waiting else 0
    status, errcode, msgid = call_wechat(facts, person, now)
    return record(send_id, person.user_id, facts.content.template_id, status, errcode=errcode,
                  msgid=msgid, attempts=attempts + 1)


def settle(facts: RunFacts, user_id: int, waiting: Waiting | None, status: str, *,
           not_before: datetime | None = None) -> bool:
    """Write a decision that sends nothing: a new row, or a waiting one moved on; False when
    another worker got there first."""
    if waiting is None:
        return _insert(PushSend(run_id=facts.run_id, user_id=user_id,
                                template_id=facts.content.template_id, status=status,
                                not_before=not_before))
    return _move(waiting, status=status, not_before=not_before)


def claim(facts: RunFacts, user_id: int, waiting: Waiting | None) -> int | None:
    """Claim the person's send and use a credit, committed together: the send's id; None when
    another worker holds it; NO_CREDIT when none was left (the send is then `no_consent`)."""
    now = utcnow()
    template_id = facts.content.template_id
    if waiting is None:
        row = PushSend(run_id=facts.run_id, user_id=user_id, template_id=template_id,
                       status="claimed", claimed_at=now)
        if not _insert(row):
            db.session.commit()
            return None
        send_id = row.id
    else:
        if not _move(waiting, status="claimed", claimed_at=now, not_before=None):
            db.session.commit()
            return None
        send_id = waiting.id
    if not consent.consume(user_id, template_id):
        _update(send_id, ("claimed",), status="no_consent", claimed_at=None)
        db.session.commit()
        return NO_CREDIT
    db.session.commit()
    return send_id


def call_wechat(facts: RunFacts, person: Person,
                now: datetime) -> tuple[str, int | None, str | None]:
    """The one call: (status, errcode, msgid) as the answer says it should be recorded."""
    client = send_client()
    content = facts.content
    try:
        # Fetched apart, so a token that cannot be had is known not to have sent anything.
        client.access_token()
        answer = client.send_subscribe_message(
            person.openid, content.template_id, content.data_on(now.astimezone(CHINA_TZ).date()),
            page=content.page)
    except NOT_TAKEN as error:
        return "busy", error.errcode, None
    except SubscriptionRefused:
        return "no_consent", SubscriptionRefused.errcode, None
    except WeChatUnavailable:
        # Timed out, cut off or garbled: WeChat may have taken it. Never sent again.
        return "unknown", None, None
    except WeChatError as error:
        return "failed", error.errcode, None
    msgid = answer.get("msgid")
    return "sent", None, None if msgid is None else str(msgid)


def record(send_id: int, user_id: int, template_id: str, status: str, *,
           errcode: int | None, msgid: str | None, attempts: int) -> Result:
    """Write a call's outcome, and what it means for the person's credits."""
    now = utcnow()
    values: dict[str, Any] = {"status": status, "errcode": errcode, "attempts": attempts}
    retry_in = 0
    if status == "sent":
        values.update(msgid=msgid, sent_at=now)
    elif status == "no_consent":
        consent.spend_all(user_id, template_id)
    elif status in ("busy", "failed"):
        consent.give_back(user_id, template_id)  # WeChat did not take it
        if status == "busy" and attempts >= MAX_ATTEMPTS:
            values["status"] = status = "failed"
        elif status == "busy":
            retry_in = RETRY_BASE_SECONDS * 2 ** (attempts - 1)
            values["not_before"] = now + timedelta(seconds=retry_in)
    # A claim the sweep gave up on takes the outcome that came after all.
    _update(send_id, ("claimed", "unknown"), **values)
    db.session.commit()
    if status not in ("sent", "busy"):
        log.info("wechat send %s: %s (errcode %s)", send_id, status, errcode)
    return Result(status, send_id, retry_in)


def sweep(now: datetime | None = None) -> int:
    """Claims older than CLAIM_TIMEOUT (their worker died): `unknown`, never sent again."""
    cutoff = (now or utcnow()) - CLAIM_TIMEOUT
    lost = db.session.execute(
        sa.update(PushSend).where(PushSend.status == "claimed", PushSend.claimed_at < cutoff)
        .values(status="unknown").execution_options(synchronize_session=False)).rowcount or 0
    if lost:
        log.warning("wechat sends: %d claims left by workers that died, marked unknown", lost)
    return lost


def _insert(row: PushSend) -> bool:
    try:
        # (run_id, user_id) is unique: of two workers on one person, the second fails here.
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return False
    return True


def _move(waiting: Waiting, **values: Any) -> bool:
    """Compare-and-set: the waiting send moves on only if it is still as it was read."""
    return _update(waiting.id, (waiting.status,), **values)


def _update(send_id: int, statuses: tuple[str, ...], **values: Any) -> bool:
    return db.session.execute(
        sa.update(PushSend).where(PushSend.id == send_id, PushSend.status.in_(statuses))
        .values(**values).execution_options(synchronize_session=False)).rowcount == 1
