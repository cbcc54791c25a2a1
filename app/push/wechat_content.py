"""What a run's WeChat subscribe message says: the rule's template data with its placeholders
filled, and the mini-program page it opens.

The placeholders are the ones `rule_checks` lets a rule use: `{date}` (the China day of the
send), `{service_name}` (the case's service for case events, else the rule's target service
or bundle; cut to the 20 characters a `thing` holds) and `{case_no}` (case events only).
Nothing personal is ever filled in: no name, no ID or phone number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

import sqlalchemy as sa

from app.extensions import db
from app.models.case import Case
from app.models.catalog import Bundle, ServiceItem
from app.models.push import PushRule, PushRun
from app.push.rule_checks import PLACEHOLDER, PLACEHOLDER_SAMPLES

SERVICE_NAME_LENGTH = len(PLACEHOLDER_SAMPLES["service_name"])
_CASE_KEY = re.compile(r"^case:([0-9]{1,19}):")


@dataclass(frozen=True)
class Content:
    """A run's message for every recipient: the day of the send is all that is left open."""

    template_id: str
    data: dict[str, str]  # `{date}` still to fill
    page: str

    def data_on(self, day: date) -> dict[str, str]:
        """The template data of a message sent on `day` (China time)."""
        today = day.isoformat()
        return {key: value.replace("{date}", today) for key, value in self.data.items()}


def content_for(run: PushRun, rule: PushRule) -> Content:
    """The run's WeChat message, from its rule's template and data."""
    case = _case_of(run)
    service_name = _service_name(rule, case)[:SERVICE_NAME_LENGTH]
    values = {"service_name": service_name, "case_no": case.case_no if case else ""}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return values.get(name, match.group(0))  # {date} waits for the day of the send

    data = {key: PLACEHOLDER.sub(fill, str(value))
            for key, value in (rule.wechat_data or {}).items()}
    return Content(rule.wechat_template_id or "", data, _page(run, rule, case))


def _case_of(run: PushRun) -> Case | None:
    """The case an event run is about (key `case:<id>:<status>`), if any."""
    found = _CASE_KEY.match(run.event_key or "")
    return db.session.get(Case, int(found.group(1))) if found else None


def _service_name(rule: PushRule, case: Case | None) -> str:
    """The name of what the message is about: the case's service, else the rule's target; the
    message's title when neither is in the catalog any more."""
    if case is not None:
        code, model = case.service_code, ServiceItem
    elif rule.target_kind in ("service", "bundle") and rule.target_code:
        code = rule.target_code
        model = ServiceItem if rule.target_kind == "service" else Bundle
    else:
        return rule.title
    name = db.session.scalar(sa.select(model.name).where(model.code == code))
    return name or rule.title


def _page(run: PushRun, rule: PushRule, case: Case | None) -> str:
    """The mini-program page the message opens (a relative path, as WeChat wants); it names
    the inbox message too, so opening it counts as a click."""
    message = str(run.id)
    if case is not None:
        return "pages/case/detail?" + urlencode({"no": case.case_no, "message": message})
    if rule.target_kind == "service" and rule.target_code:
        return "pages/service/index?" + urlencode({"code": rule.target_code,
                                                   "message": message})
    if rule.target_kind == "bundle" and rule.target_code:
        return "pages/bundle/index?" + urlencode({"code": rule.target_code, "message": message})
    return "pages/messages/detail?" + urlencode({"id": message})
