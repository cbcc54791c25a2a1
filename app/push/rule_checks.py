"""What a push rule must satisfy before it is saved, and more before it may send.

`checked(spec, now=…)` runs on create and on every edit: the audience parses (and is kept in its
canonical form), the category, the texts (title ≤ 20, body ≤ 200, no personal numbers), the
message's target exists in the catalog, the channels, the WeChat template's shape, the schedule
(a once time ahead, a cron rule at most hourly, a known event with its parameters), the caps,
the priority and the end. With `sending=True` (at submit and again at approve) it adds what a
draft may still lack: WeChat's subscribe-message value rules for each data key, and a cron rule
that fires again before its end. Every problem is reported at once, each under its field
(`message.title`, `schedule.expression`, `wechat.data.thing1`), in one InvalidInput.

A WeChat data key's type is its name without the trailing digits (`thing1` → `thing`). Values
may hold placeholders filled at send time: `{date}` (the China day of the send, 2026-11-26),
`{case_no}` (a case number, up to 24 digits; case events only) and `{service_name}` (the
target's or the case's service, counted as the 20 characters a `thing` holds, so it stands
alone in its key; a longer name is to be cut to 20 when sent). A value is checked with every
placeholder at that width, so only types that can hold the placeholder's characters take it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from croniter import CroniterError, croniter

from app.extensions import db
from app.models.case import CASE_STATUSES
from app.models.catalog import Bundle, ServiceItem
from app.models.certificate import CertificateType
from app.models.push import CHANNELS, PRIORITIES
from app.platform.errors import InvalidInput
from app.push.expressions import ANY_TAG, is_pattern, normalize
from app.push.preferences import CATEGORY
from app.push.scheduling import next_run_after

MAX_NAME_LENGTH, MAX_REASON_LENGTH = 64, 100
MAX_TITLE_LENGTH, MAX_BODY_LENGTH = 20, 200
MAX_CAP = 100  # messages of one rule per person per day or week
MAX_CRON_LENGTH = 64
MAX_EXPIRING_DAYS = 365
MAX_TEMPLATE_ID_LENGTH = 64
MAX_DATA_KEYS, MAX_VALUE_LENGTH = 20, 64
# Times further ahead are typing mistakes, and would overflow on the way to UTC.
MAX_AHEAD = timedelta(days=3 * 366)
# ID numbers are 18 characters and mobile numbers 11 digits: no such run in a push message.
PERSONAL_NUMBER = re.compile(r"\d{11,}")
NO_PERSONAL_NUMBERS = "不能包含身份证号、手机号等个人号码（连续 11 位及以上数字）"
WECHAT_KEY = re.compile(r"([a-z_]+)([0-9]+)")
TEMPLATE_ID = re.compile(r"[A-Za-z0-9_-]+")
TARGETS = {"service_code": "service", "bundle_code": "bundle", "case_page": "case"}
# Each event a rule may wait for, with its parameters (name → required): the case status
# reached, the days before a certificate expires and its type, the tag pattern gained.
EVENT_PARAMS: dict[str, dict[str, bool]] = {
    "case_moved": {"status": False},
    "case_overdue": {},
    "certificate_expiring": {"days": True, "certificate_type": False},
    "tag_gained": {"tag": True},
}
# Parameters stored in `event_params` under another name (`type` says the schedule's kind).
PARAM_COLUMNS = {"certificate_type": "type"}
CASE_EVENTS = frozenset({"case_moved", "case_overdue"})
# What each placeholder is counted as: its longest likely text.
PLACEHOLDER_SAMPLES = {"date": "2026-11-26", "case_no": "0" * 24, "service_name": "事" * 20}
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_DATE = r"[0-9]{4}(?:-[0-9]{1,2}-[0-9]{1,2}|/[0-9]{1,2}/[0-9]{1,2}|年[0-9]{1,2}月[0-9]{1,2}日)"
_TIME = r"(?:[01]?[0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?"
_HAN = "\u4e00-\u9fff"
# WeChat's rule for each key type (its subscribe-message reference), and how to say it.
VALUE_RULES: dict[str, tuple[re.Pattern[str], str]] = {
    "thing": (re.compile(r".{1,20}"), "不超过 20 个字符"),
    "number": (re.compile(r"(?=[0-9.]{1,33}\Z)[0-9]+(?:\.[0-9]+)?"),
               "不超过 32 位数字，可带小数"),
    "letter": (re.compile(r"[A-Za-z]{1,32}"), "不超过 32 个字母"),
    "symbol": (re.compile(r"[^\w\s]{1,5}"), "不超过 5 个符号"),
    "character_string": (re.compile(r"[!-~]{1,32}"), "不超过 32 个数字、字母或符号"),
    "time": (re.compile(rf"(?:{_DATE} )?{_TIME}(?:~(?:{_DATE} )?{_TIME})?"),
             "24 小时制时间，可带日期，如 15:01 或 2026-11-26 15:01"),
    "date": (re.compile(rf"{_DATE}(?: {_TIME})?(?:~{_DATE}(?: {_TIME})?)?"),
             "年月日，如 2026-11-26 或 2026年11月26日"),
    "amount": (re.compile(r"[¥￥$]?[0-9]{1,10}(?:\.[0-9]{1,2})?元?"),
               "币种符号加不超过 10 位数字，如 ¥100.50"),
    "phone_number": (re.compile(r"[0-9+() -]{1,17}"), "不超过 17 位数字或符号"),
    "car_number": (re.compile(rf"(?=.{{1,8}}\Z)[{_HAN}A-Za-z0-9][A-Za-z0-9]*[{_HAN}A-Za-z0-9]?"),
                   "不超过 8 位的车牌号"),
    "name": (re.compile(rf"[{_HAN}·]{{1,10}}|[A-Za-z .'-]{{1,20}}"),
             "不超过 10 个汉字或 20 个字母"),
    "phrase": (re.compile(rf"[{_HAN}]{{1,5}}"), "不超过 5 个汉字"),
}


class Problems:
    """Every problem found, by field; raised together as one InvalidInput."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.found.setdefault(field, []).append(message)

    def raise_any(self) -> None:
        if not self.found:
            return
        field, messages = next(iter(self.found.items()))
        count = sum(len(m) for m in self.found.values())
        more = f"（共 {count} 处需要修改）" if count > 1 else ""
        error = InvalidInput(field, messages[0] + more)
        error.errors = dict(self.found)
        raise error


def checked(spec: Mapping[str, Any], *, now: datetime, sending: bool = False) -> dict[str, Any]:
    """The spec made canonical (see the module docstring), or InvalidInput naming each field."""
    problems = Problems()
    clean: dict[str, Any] = {
        "name": _text(problems, "name", spec.get("name"), MAX_NAME_LENGTH, required=True),
        "audience": _audience(problems, spec.get("audience")),
        "category": _category(problems, spec.get("category")),
        "reason": _text(problems, "reason", spec.get("reason") or "", MAX_REASON_LENGTH),
    }
    clean["schedule"] = schedule = _schedule(problems, spec.get("schedule"), now)
    clean["message"] = _message(problems, spec.get("message"), schedule)
    clean["channels"] = _channels(problems, spec.get("channels"))
    clean["frequency_cap"] = _caps(problems, spec.get("frequency_cap"))
    clean["priority"] = spec.get("priority") or "normal"
    clean["ends_at"] = _ends_at(problems, spec.get("ends_at"), schedule, now, sending)
    if clean["priority"] not in PRIORITIES:
        problems.add("priority", "优先级应为 normal 或 urgent")
    clean["wechat"] = _wechat(problems, spec.get("wechat"), clean, sending)
    problems.raise_any()
    return clean


def _text(problems: Problems, field: str, value: Any, limit: int, *,
          required: bool = False) -> str:
    if not isinstance(value, str):
        problems.add(field, "不能为空" if value is None else "应为文字")
        return ""
    value = value.strip()
    if required and not value:
        problems.add(field, "不能为空")
    if len(value) > limit:
        problems.add(field, f"不能超过 {limit} 个字")
    if PERSONAL_NUMBER.search(value):
        problems.add(field, NO_PERSONAL_NUMBERS)
    return value


def _audience(problems: Problems, text: Any) -> str:
    if not isinstance(text, str):
        problems.add("audience", "请填写目标人群表达式")
        return ""
    try:
        return normalize(text)[1]
    except InvalidInput as error:  # names `audience`, with the offset
        for field, messages in (error.errors or {}).items():
            for message in messages:
                problems.add(field, message)
        return text


def _category(problems: Problems, category: Any) -> str:
    if not isinstance(category, str) or CATEGORY.fullmatch(category) is None:
        problems.add("category", "类别应为小写字母开头的小写字母、数字或下划线，最长 32 位")
        return category if isinstance(category, str) else ""
    return category


def _message(problems: Problems, message: Any, schedule: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(message, Mapping):
        problems.add("message", "请填写消息标题和内容")
        return {}
    clean = {"title": _text(problems, "message.title", message.get("title"), MAX_TITLE_LENGTH,
                            required=True),
             "body": _text(problems, "message.body", message.get("body"), MAX_BODY_LENGTH,
                           required=True)}
    targets = [key for key in TARGETS if message.get(key) not in (None, False)]
    if len(targets) > 1:
        problems.add("message", "只能指定一个跳转目标：事项、一件事或办件页")
    for key in targets[:1]:
        clean[key] = _target(problems, key, message[key], schedule)
    return clean


def _target(problems: Problems, key: str, value: Any, schedule: dict[str, Any]) -> Any:
    field = f"message.{key}"
    if key == "case_page":
        if value is not True:
            problems.add(field, "应为 true")
        elif schedule.get("event") not in CASE_EVENTS:
            problems.add(field, "只有办件事件触发的规则可以跳转到办件页")
        return True
    model = ServiceItem if key == "service_code" else Bundle
    if not isinstance(value, str) or not db.session.scalar(
            sa.select(model.id).where(model.code == value)):
        problems.add(field, "服务目录中没有该事项" if model is ServiceItem
                     else "服务目录中没有该一件事")
    return value


def _channels(problems: Problems, channels: Any) -> list[str]:
    if not isinstance(channels, list | tuple) or not channels:
        problems.add("channels", "请至少选择一个渠道：inbox 或 wechat")
        return []
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        problems.add("channels", "渠道只能是 inbox 或 wechat")
    return [c for c in CHANNELS if c in channels]


def _caps(problems: Problems, caps: Any) -> dict[str, int] | None:
    if caps is None:
        return None
    if not isinstance(caps, Mapping):
        problems.add("frequency_cap", "应为 per_day、per_week")
        return None
    clean = {}
    for key in ("per_day", "per_week"):
        value = caps.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CAP:
            problems.add(f"frequency_cap.{key}", f"应为 1 到 {MAX_CAP} 的整数")
        clean[key] = value
    return clean or None


def _ahead(problems: Problems, field: str, at: Any, now: datetime) -> datetime | None:
    """A time still to come (and not absurdly far), or a problem."""
    if not isinstance(at, datetime) or at.tzinfo is None:
        problems.add(field, "应为带时区的时间")
        return None
    if at <= now:
        problems.add(field, "时间已过，请选择将来的时间")
    elif at > now + MAX_AHEAD:
        problems.add(field, "时间不能晚于三年之后")
    else:
        return at.astimezone(UTC)
    return None


def _schedule(problems: Problems, schedule: Any, now: datetime) -> dict[str, Any]:
    if not isinstance(schedule, Mapping) or schedule.get("type") not in ("once", "cron",
                                                                          "event"):
        problems.add("schedule.type", "发送方式应为 once、cron 或 event")
        return {}
    kind = schedule["type"]
    clean: dict[str, Any] = {"type": kind}
    if kind == "once":
        allowed = {"type", "at"}
        at = schedule.get("at")
        clean["at"] = None if at is None else _ahead(problems, "schedule.at", at, now)
    elif kind == "cron":
        allowed = {"type", "expression"}
        clean["expression"] = expression = schedule.get("expression")
        problem = cron_problem(expression, now)
        if problem:
            problems.add("schedule.expression", problem)
    else:
        clean.update(_event(problems, schedule))
        allowed = {"type", "event", *EVENT_PARAMS.get(clean["event"], {})}
    for key in schedule:
        if key not in allowed:
            problems.add(f"schedule.{key}", "该发送方式不需要此参数")
    return clean


def _event(problems: Problems, schedule: Mapping[str, Any]) -> dict[str, Any]:
    event = schedule.get("event")
    if not isinstance(event, str) or event not in EVENT_PARAMS:
        problems.add("schedule.event", "事件应为 " + "、".join(EVENT_PARAMS))
        return {"event": event if isinstance(event, str) else None}
    clean: dict[str, Any] = {"event": event}
    for name, required in EVENT_PARAMS[event].items():
        value = schedule.get(name)
        if value is None:
            if required:
                problems.add(f"schedule.{name}", "该事件需要此参数")
            continue
        clean[name] = value
        if name == "status" and value not in CASE_STATUSES:
            problems.add("schedule.status", "办件状态应为 " + "、".join(CASE_STATUSES))
        elif name == "days" and (isinstance(value, bool) or not isinstance(value, int)
                                 or not 1 <= value <= MAX_EXPIRING_DAYS):
            problems.add("schedule.days", f"提前天数应为 1 到 {MAX_EXPIRING_DAYS} 的整数")
        elif name == "tag" and not (isinstance(value, str) and is_pattern(value)
                                    and value != ANY_TAG):
            problems.add("schedule.tag", "标签应为「命名空间:名称」，或以 :* 结尾表示其下所有标签")
        elif name == "certificate_type" and not (isinstance(value, str) and db.session.scalar(
                sa.select(CertificateType.id).where(CertificateType.code == value))):
            problems.add("schedule.certificate_type", "没有该电子证照类型")
    return clean


def cron_problem(expression: Any, now: datetime) -> str | None:
    """Why a cron expression cannot schedule a rule, or None: five fields in China time (minute
    hour day month weekday), at most once an hour, firing at least once more."""
    if not isinstance(expression, str) or not expression.strip():
        return "请填写 cron 表达式"
    if len(expression) > MAX_CRON_LENGTH:
        return f"cron 表达式不能超过 {MAX_CRON_LENGTH} 个字符"
    try:
        fields = croniter.expand(expression)[0]
    except (CroniterError, ValueError):
        return "不是有效的 cron 表达式（分 时 日 月 周，中国时间）"
    if len(fields) != 5:
        return "cron 表达式应为 5 段：分 时 日 月 周"
    # One minute of the hour is at most one run an hour; two or more, or `*`, are more often.
    if len(fields[0]) != 1 or fields[0][0] == "*":
        return "发送频率不能高于每小时一次：分钟只能是一个固定值"
    try:
        next_run_after(expression, now)
    except (CroniterError, ValueError):
        return "该 cron 表达式不会再触发"
    return None


def _ends_at(problems: Problems, ends_at: Any, schedule: dict[str, Any], now: datetime,
             sending: bool) -> datetime | None:
    if ends_at is None:
        return None
    end = _ahead(problems, "ends_at", ends_at, now)
    if end is None:
        return None
    if schedule.get("at") and schedule["at"] >= end:
        problems.add("ends_at", "结束时间应晚于发送时间")
    elif sending and schedule.get("type") == "cron" and not cron_problem(
            schedule["expression"], now) and next_run_after(schedule["expression"], now) >= end:
        problems.add("ends_at", "结束时间之前该规则不会再发送")
    return end


def _wechat(problems: Problems, wechat: Any, clean: dict[str, Any],
            sending: bool) -> dict[str, Any] | None:
    if wechat is None:
        if "wechat" in clean["channels"]:
            problems.add("wechat", "选择微信渠道时须填写订阅消息模板和内容")
        return None
    if not isinstance(wechat, Mapping):
        problems.add("wechat", "应为订阅消息模板和内容")
        return None
    template_id, data = wechat.get("template_id"), wechat.get("data")
    if not isinstance(template_id, str) or TEMPLATE_ID.fullmatch(template_id) is None or len(
            template_id) > MAX_TEMPLATE_ID_LENGTH:
        problems.add("wechat.template_id", "请填写订阅消息模板 ID")
    if not isinstance(data, Mapping) or not data or len(data) > MAX_DATA_KEYS:
        problems.add("wechat.data", f"请填写模板内容，1 到 {MAX_DATA_KEYS} 项")
        return {"template_id": template_id, "data": {}}
    placeholders = _placeholders_for(clean)
    for key, value in data.items():
        problem = _value_problem(key, value, placeholders, sending)
        if problem:
            problems.add(f"wechat.data.{key}", problem)
    return {"template_id": template_id, "data": dict(data)}


def _placeholders_for(clean: dict[str, Any]) -> set[str]:
    """The placeholders a rule can fill: the date always; the case number for case events;
    the service's name for those and for rules with a service or bundle target."""
    case_event = clean["schedule"].get("event") in CASE_EVENTS
    targeted = bool({"service_code", "bundle_code"} & set(clean["message"]))
    return {"date"} | ({"case_no"} if case_event else set()) | (
        {"service_name"} if case_event or targeted else set())


def _value_problem(key: Any, value: Any, placeholders: set[str], sending: bool) -> str | None:
    """What is wrong with one data value, or None. The value rules wait for `sending`."""
    typed = WECHAT_KEY.fullmatch(key) if isinstance(key, str) else None
    if typed is None or typed.group(1) not in VALUE_RULES:
        return "模板字段名应为类型加序号，类型为 " + "、".join(VALUE_RULES)
    if not isinstance(value, str) or not value:
        return "不能为空"
    if len(value) > MAX_VALUE_LENGTH:
        return f"不能超过 {MAX_VALUE_LENGTH} 个字符"
    used = PLACEHOLDER.findall(value)
    for name in used:
        if name not in PLACEHOLDER_SAMPLES:
            return f"未知的占位符 {{{name}}}，可用 {{date}}、{{case_no}}、{{service_name}}"
        if name not in placeholders:
            return f"该规则发送时没有 {{{name}}} 可填"
    # Digits around a placeholder do not join up: it stands for other text.
    if PERSONAL_NUMBER.search(PLACEHOLDER.sub(" ", value)):
        return NO_PERSONAL_NUMBERS
    if not sending:
        return None
    pattern, rule = VALUE_RULES[typed.group(1)]
    filled = PLACEHOLDER.sub(lambda m: PLACEHOLDER_SAMPLES[m.group(1)], value)
    if pattern.fullmatch(filled) is None:
        widths = "，".join(f"{{{n}}} 按 {len(PLACEHOLDER_SAMPLES[n])} 个字符计"
                          for n in dict.fromkeys(used))
        return f"微信「{typed.group(1)}」类型的值应为{rule}" + (f"（{widths}）" if widths else "")
    return None
