"""In-memory state and rules of the WeChat server stub: codes, tokens, consent, messages, texts."""

from __future__ import annotations

import base64
import copy
import itertools
import math
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mini_program_stub.subscribe_values import (
    VALUE_RULES,
    first_invalid_data_key,
    key_type,
    page_is_valid,
)

CODE_TTL_SECONDS = 300
TOKEN_TTL_SECONDS = 7200
TOKEN_GRACE_SECONDS = 300  # WeChat keeps the previous token alive this long after a new one
LOGIN_WINDOW_SECONDS = 60
LOGINS_PER_MINUTE = 100
TOKEN_DAILY_QUOTA = 2000
FORCE_REFRESH_DAILY_QUOTA = 20
FORCE_REFRESH_INTERVAL_SECONDS = 30
TEXT_CHECK_MAX_CHARS = 2500
BEIJING_UTC_OFFSET_SECONDS = 8 * 3600  # WeChat's daily quotas reset at midnight Beijing time

WECHAT_PATHS = (
    "/sns/jscode2session",
    "/cgi-bin/token",
    "/cgi-bin/stable_token",
    "/cgi-bin/message/subscribe/send",
    "/wxa/msg_sec_check",
    "/intp/realname/checkrealnameinfo",
)

ERRMSGS: dict[int, str] = {
    -1: "system error",
    0: "ok",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40029: "invalid code",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    40163: "code been used",
    40164: "invalid ip, not in whitelist",
    40226: "code blocked",
    41001: "access_token missing",
    41030: "invalid page",
    42001: "access_token expired",
    43101: "user refuse to accept the msg",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit",
    47001: "data format error",
    47003: "argument invalid!",
    80113: "invalid code",
}

# Words that make msg_sec_check answer "risky" / "review", with WeChat's label for each
# (100 normal, 10001 ads, 20001 politics, 20002 porn, 20003 abuse, 20006 crime, 21000 other).
# "违规词" and "待复核" are markers that tests and demos write on purpose.
RISKY_WORDS: dict[str, int] = {
    "违规词": 20001, "赌博": 20006, "博彩": 20006, "代开发票": 20006, "色情": 20002,
    "傻逼": 20003, "狗东西": 20003, "去死": 20003,
}
REVIEW_WORDS: dict[str, int] = {"待复核": 21000, "加微信": 10001, "刷单": 20008}


def errmsg_for(errcode: int) -> str:
    """The standard errmsg WeChat gives with an errcode."""
    return ERRMSGS.get(errcode, "system error")


class WeChatError(Exception):
    """An answer with a non-zero WeChat errcode."""

    def __init__(self, errcode: int, errmsg: str | None = None) -> None:
        self.errcode = errcode
        self.errmsg = errmsg if errmsg is not None else errmsg_for(errcode)
        super().__init__(f"{errcode} {self.errmsg}")


class StubUsageError(ValueError):
    """A control call that makes no sense (unknown template, negative credits, ...)."""


def classify_text(content: str) -> tuple[str, int, str | None]:
    """(suggest, label, matched word) for a text, from the built-in word lists."""
    for suggest, words in (("risky", RISKY_WORDS), ("review", REVIEW_WORDS)):
        for word, label in words.items():
            if word in content:
                return suggest, label, word
    return "pass", 100, None


# --- state ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A subscribe-message template: its keys, and whether consent is long-term."""

    keys: tuple[str, ...]
    long_term: bool = False


DEFAULT_TEMPLATES: dict[str, Template] = {
    "tpl-case-progress": Template(("character_string1", "thing2", "phrase3", "time4")),
    "tpl-service-reminder": Template(("thing1", "thing2", "date3"), long_term=True),
    "tpl-cert-expiry": Template(("thing1", "date2", "thing3")),
}


@dataclass
class LoginCode:
    """A js_code minted for an openid."""

    openid: str
    minted_at: float
    used: bool = False


@dataclass
class AccessToken:
    """An issued access token and the moments it stops working."""

    expires_at: float
    retired_at: float | None = None  # set when a newer token replaces this one
    invalid: bool = False

    def problem(self, now: float) -> int | None:
        """The errcode a call with this token gets now, or None if it works."""
        if self.invalid or (self.retired_at is not None and now >= self.retired_at):
            return 40001
        return 42001 if now >= self.expires_at else None


@dataclass(frozen=True)
class InjectedFailure:
    """What one call of a path answers instead of its real answer."""

    errcode: int
    http_status: int = 200


class WeChatState:
    """Everything the stub remembers; every public method holds the lock for its whole run."""

    def __init__(self, appid: str, secret: str, clock: Callable[[], float] | None = None) -> None:
        self.appid = appid
        self.secret = secret
        self.lock = threading.Lock()
        self.token_daily_quota = TOKEN_DAILY_QUOTA
        self.logins_per_minute = LOGINS_PER_MINUTE
        self._clock = clock or time.time
        self._msgids = itertools.count(1)  # not reset: one server never reuses a msgid
        self._reset_hooks: list[Callable[[], None]] = []
        self.reset()

    def on_reset(self, hook: Callable[[], None]) -> None:
        """Have reset() also call `hook`, for state kept beside this one (real names)."""
        self._reset_hooks.append(hook)

    def reset(self) -> None:
        """Forget everything: codes, tokens, users, templates, messages, checked texts, failures,
        clock offset."""
        with self.lock:
            self._clock_offset_seconds = 0.0
            self._codes: dict[str, LoginCode] = {}
            self._known_openids: set[str] = set()
            self._unionids: dict[str, str] = {}
            self._session_keys: dict[str, str] = {}
            self._logins: dict[str, deque[float]] = {}
            self._blocked: set[str] = set()
            self._tokens: dict[str, AccessToken] = {}
            self._current_token: str | None = None
            self._stable_token: str | None = None
            self._last_force_refresh_at: float | None = None
            self._daily_counts: Counter[tuple[str, int]] = Counter()
            self._templates: dict[str, Template] = dict(DEFAULT_TEMPLATES)
            self._credits: dict[tuple[str, str], int] = {}
            self._messages: list[dict[str, Any]] = []
            self._text_checks: list[dict[str, Any]] = []
            self._failures: dict[str, deque[InjectedFailure]] = {}
            self._calls: Counter[str] = Counter()
        for hook in self._reset_hooks:
            hook()

    def now(self) -> float:
        """The stub's clock: the given clock plus whatever tests advanced it by."""
        return self._clock() + self._clock_offset_seconds

    def _day(self) -> int:
        return int((self.now() + BEIJING_UTC_OFFSET_SECONDS) // 86400)

    def record_call(self, path: str) -> InjectedFailure | None:
        """Count a call of a WeChat path and hand back the failure due for it, if any."""
        with self.lock:
            self._calls[path] += 1
            pending = self._failures.get(path)
            return pending.popleft() if pending else None

    def _check_client(self, appid: str, secret: str, grant_type: str, expected: str) -> None:
        if appid != self.appid:
            raise WeChatError(40013)
        if secret != self.secret:
            raise WeChatError(40125)
        if grant_type != expected:
            raise WeChatError(40002)

    def code_to_session(self, appid: str, secret: str, js_code: str, grant_type: str) -> dict:
        """Exchange a js_code for the openid and a fresh session_key (code2Session)."""
        with self.lock:
            self._check_client(appid, secret, grant_type, "authorization_code")
            now = self.now()
            login = self._codes.get(js_code)
            if login is None:
                raise WeChatError(40029)
            if login.used:
                raise WeChatError(40163)
            if now >= login.minted_at + CODE_TTL_SECONDS:
                raise WeChatError(40029)
            if login.openid in self._blocked:
                raise WeChatError(40226)
            recent = self._logins.setdefault(login.openid, deque())
            while recent and recent[0] <= now - LOGIN_WINDOW_SECONDS:
                recent.popleft()
            if len(recent) >= self.logins_per_minute:
                raise WeChatError(45011)
            recent.append(now)
            login.used = True
            session_key = base64.b64encode(secrets.token_bytes(16)).decode()
            self._session_keys[login.openid] = session_key
            session = {"openid": login.openid, "session_key": session_key}
            if login.openid in self._unionids:
                session["unionid"] = self._unionids[login.openid]
            return session

    def session_key(self, openid: str) -> str | None:
        """The session_key of an openid's latest login (for tests that encrypt user data)."""
        with self.lock:
            return self._session_keys.get(openid)

    def issued_secrets(self) -> set[str]:
        """Every access token and session_key handed out since the last reset (for leak scans)."""
        with self.lock:
            return set(self._tokens) | set(self._session_keys.values())

    def _new_token(self, now: float) -> str:
        token = secrets.token_urlsafe(120)  # 160 characters, like WeChat's long opaque tokens
        self._tokens[token] = AccessToken(expires_at=now + TOKEN_TTL_SECONDS)
        return token

    def issue_token(self, appid: str, secret: str, grant_type: str) -> dict[str, Any]:
        """A new token from /cgi-bin/token; the previous one keeps working for 300 s."""
        with self.lock:
            self._check_client(appid, secret, grant_type, "client_credential")
            now, day = self.now(), self._day()
            if self._daily_counts["token", day] >= self.token_daily_quota:
                raise WeChatError(45009)
            self._daily_counts["token", day] += 1
            previous = self._tokens.get(self._current_token or "")
            if previous is not None and previous.retired_at is None:
                previous.retired_at = now + TOKEN_GRACE_SECONDS
            self._current_token = self._new_token(now)
            return {"access_token": self._current_token, "expires_in": TOKEN_TTL_SECONDS}

    def stable_token(
        self, appid: str, secret: str, grant_type: str, force_refresh: bool
    ) -> dict[str, Any]:
        """The stable token: the same while valid, new when expired or forced (at once)."""
        with self.lock:
            self._check_client(appid, secret, grant_type, "client_credential")
            now, day = self.now(), self._day()
            current = self._tokens.get(self._stable_token or "")
            if not force_refresh and current is not None and current.problem(now) is None:
                expires_in = math.ceil(current.expires_at - now)
                return {"access_token": self._stable_token, "expires_in": expires_in}
            if force_refresh:
                if self._daily_counts["force_refresh", day] >= FORCE_REFRESH_DAILY_QUOTA:
                    raise WeChatError(45009)
                last = self._last_force_refresh_at
                if last is not None and now - last < FORCE_REFRESH_INTERVAL_SECONDS:
                    raise WeChatError(45011)
                self._daily_counts["force_refresh", day] += 1
                self._last_force_refresh_at = now
                if current is not None:
                    current.retired_at = now  # WeChat: a forced refresh kills the old one at once
            self._stable_token = self._new_token(now)
            return {"access_token": self._stable_token, "expires_in": TOKEN_TTL_SECONDS}

    def check_token(self, token: str) -> None:
        """Raise the WeChatError an API call with this access_token gets, if any."""
        with self.lock:
            if not token:
                raise WeChatError(41001)
            record = self._tokens.get(token)
            problem = 40001 if record is None else record.problem(self.now())
            if problem is not None:
                raise WeChatError(problem)

    def send_subscribe_message(self, message: dict[str, Any]) -> int:
        """Check a subscribe message against users, templates and consent, record it; its msgid."""
        with self.lock:
            touser, template_id = message.get("touser"), message.get("template_id")
            if not isinstance(touser, str) or touser not in self._known_openids:
                raise WeChatError(40003)
            template = self._templates.get(template_id) if isinstance(template_id, str) else None
            if template is None:
                raise WeChatError(40037)
            page = message.get("page")
            if page is not None and not page_is_valid(page):
                raise WeChatError(41030)
            bad_key = first_invalid_data_key(template.keys, message.get("data"))
            if bad_key is not None:
                raise WeChatError(47003, f"argument invalid! data.{bad_key}.value invalid")
            credits = self._credits.get((touser, template_id), 0)
            if credits <= 0:
                raise WeChatError(43101)
            if not template.long_term:
                self._credits[touser, template_id] = credits - 1
            recorded = {
                "msgid": next(self._msgids), "touser": touser, "template_id": template_id,
                "page": page, "data": copy.deepcopy(message["data"]),
                "miniprogram_state": message.get("miniprogram_state"),
                "lang": message.get("lang"), "at": self.now(),
            }
            self._messages.append(recorded)
            return recorded["msgid"]

    def check_text(self, openid: str, content: str, scene: int) -> tuple[str, int, str | None]:
        """(suggest, label, matched word) of msg_sec_check for a known user's text, recorded."""
        with self.lock:
            if openid not in self._known_openids:
                raise WeChatError(40003)
            suggest, label, word = classify_text(content)
            self._text_checks.append({
                "openid": openid, "scene": scene, "content": content, "suggest": suggest,
                "label": label, "at": self.now(),
            })
            return suggest, label, word

    # --- controls for tests -----------------------------------------------------------------

    def mint_code(self, openid: str, unionid: str | None = None) -> str:
        """A fresh js_code for an openid, which thereby becomes a known user."""
        with self.lock:
            code = secrets.token_urlsafe(24)
            self._codes[code] = LoginCode(openid=openid, minted_at=self.now())
            self._known_openids.add(openid)
            if unionid:
                self._unionids[openid] = unionid
            return code

    def messages(self, touser: str | None = None) -> list[dict[str, Any]]:
        """Accepted subscribe messages, oldest first, optionally for one user."""
        with self.lock:
            return copy.deepcopy(
                [m for m in self._messages if touser is None or m["touser"] == touser]
            )

    def text_checks(self, openid: str | None = None) -> list[dict[str, Any]]:
        """Texts msg_sec_check gave a verdict on, oldest first, optionally for one user."""
        with self.lock:
            return [dict(check) for check in self._text_checks
                    if openid is None or check["openid"] == openid]

    def set_credits(self, openid: str, template_id: str, credits: int) -> None:
        """Set a user's consent credits for a template; a subscribed user is a known user."""
        with self.lock:
            if template_id not in self._templates:
                raise StubUsageError(f"unknown template_id {template_id!r}")
            self._known_openids.add(openid)
            self._credits[openid, template_id] = credits

    def subscriptions(self, openid: str | None = None) -> list[dict[str, Any]]:
        """Consent credits per (openid, template), optionally for one user."""
        with self.lock:
            return [
                {"openid": user, "template_id": template_id, "credits": credits,
                 "long_term": self._templates[template_id].long_term}
                for (user, template_id), credits in sorted(self._credits.items())
                if openid is None or user == openid
            ]

    def add_template(self, template_id: str, keys: list[str], long_term: bool) -> None:
        """Add or replace a template; every key must name a value type WeChat knows."""
        unknown = [key for key in keys if key_type(key) not in VALUE_RULES]
        if unknown or not keys or len(set(keys)) != len(keys):
            raise StubUsageError(f"keys must be distinct and typed; unknown types: {unknown}")
        with self.lock:
            self._templates[template_id] = Template(tuple(keys), long_term)

    def add_failure(self, path: str, failure: InjectedFailure, count: int) -> None:
        """Make the next `count` calls of a WeChat path answer this failure."""
        if path not in WECHAT_PATHS:
            raise StubUsageError(f"path must be one of {', '.join(WECHAT_PATHS)}")
        with self.lock:
            self._failures.setdefault(path, deque()).extend([failure] * count)

    def block(self, openid: str) -> None:
        """Make logins of an openid fail with 40226 (a high-risk user)."""
        with self.lock:
            self._blocked.add(openid)

    def expire_tokens(self) -> int:
        """Make every issued token expired (42001); how many there were."""
        with self.lock:
            now = self.now()
            for record in self._tokens.values():
                record.expires_at = min(record.expires_at, now)
            return len(self._tokens)

    def invalidate_tokens(self) -> int:
        """Make every issued token invalid (40001); how many there were."""
        with self.lock:
            for record in self._tokens.values():
                record.invalid = True
            return len(self._tokens)

    def advance_clock(self, seconds: float) -> float:
        """Move the stub's clock forward; the new time."""
        with self.lock:
            self._clock_offset_seconds += seconds
            return self.now()

    def call_counts(self) -> dict[str, int]:
        """How many times each WeChat path was called, injected failures included."""
        with self.lock:
            return dict(self._calls)
