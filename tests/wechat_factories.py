"""Keyword-only builders for the WeChat channel's tests: rules with the WeChat channel, people
who consented (with us, and at the stub playing WeChat), runs reaching them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import sqlalchemy as sa

from app.extensions import db
from app.models import User
from app.models.push import PushRule, PushRun
from app.models.push_delivery import PushSend
from app.push import consent
from app.push.expressions import normalize
from mini_program_stub.wechat_server import StubServer
from tests.factories import create_user
from tests.inbox_factories import create_run

ONE_TIME = "tpl-cert-expiry"  # keys thing1, date2, thing3 at the stub
LONG_TERM = "tpl-service-reminder"  # keys thing1, thing2, date3; long-term by default config
CASE_PROGRESS = "tpl-case-progress"  # one-time: character_string1, thing2, phrase3, time4
DATA = {
    CASE_PROGRESS: {"character_string1": "{case_no}", "thing2": "{service_name}",
                    "phrase3": "已受理", "time4": "{date} 09:00"},
    ONE_TIME: {"thing1": "{service_name}", "date2": "{date}", "thing3": "请及时办理"},
    LONG_TERM: {"thing1": "{service_name}", "thing2": "请及时办理", "date3": "{date}"},
}
SEND_PATH = "/cgi-bin/message/subscribe/send"


def create_wechat_rule(*, template_id: str = LONG_TERM, category: str = "licence",
                       priority: str = "normal", status: str = "active",
                       target_code: str = "GF00001001", title: str = "社保卡申领提醒",
                       channels: tuple[str, ...] = ("inbox", "wechat")) -> PushRule:
    rule = PushRule(name="微信提醒", audience=normalize("user:registered")[1], category=category,
                    reason="", title=title, body="可在线申领。", target_kind="service",
                    target_code=target_code, channels=list(channels),
                    wechat_template_id=template_id, wechat_data=dict(DATA[template_id]),
                    schedule_type="once", priority=priority, status=status)
    db.session.add(rule)
    db.session.commit()
    return rule


def create_people(count: int) -> list[User]:
    """Registered people without a real name (so without personal numbers)."""
    return [create_user(verified=False) for _ in range(count)]


def consent_to(users: Iterable[User], template_id: str, *, stub: StubServer,
               accepts: int = 1, at_wechat: int | None = None) -> None:
    """The people accepted the template `accepts` times: recorded here, and at the stub, which
    keeps its own count as WeChat does (`at_wechat` when it differs)."""
    for user in users:
        for _ in range(accepts):
            consent.record(user.id, template_id, "accept")
        stub.state.set_credits(user.openid, template_id,
                               accepts if at_wechat is None else at_wechat)
    db.session.commit()


def run_for(rule: PushRule, users: Iterable[User]) -> PushRun:
    return create_run(rule=rule, recipients=[user.id for user in users])


def counts_of(rule_id: int) -> dict:
    """The rule's WeChat counts as they are now (this session's transaction ended first)."""
    from app.push.wechat_delivery import wechat_counts

    db.session.commit()
    return wechat_counts(rule_id)


def sends_of(run: PushRun) -> dict[int, PushSend]:
    """The run's sends by person, as they are now: this session's transaction ends first, since
    the sends were committed by the tasks' own sessions (unseen under REPEATABLE READ)."""
    db.session.commit()
    return {row.user_id: row for row in db.session.scalars(
        sa.select(PushSend).where(PushSend.run_id == run.id))}


def china(text: str) -> datetime:
    """A moment written in China time, e.g. "2026-11-26 23:30"."""
    return datetime.fromisoformat(text + "+08:00").astimezone(UTC)
