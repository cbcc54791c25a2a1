"""HTTP client of the WeChat server API: login, token, messages, text and real-name checks."""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import redis
import requests
import urllib3

from app.wechat.access_token import AccessTokenHolder
from app.wechat.breaker import CircuitBreaker
from app.wechat.errors import (
    InvalidCredential,
    TokenExpired,
    WeChatBusy,
    WeChatError,
    WeChatUnavailable,
    error_for,
)
from app.wechat.real_name import RealNameCheck
from app.wechat.text_check import TextVerdict

log = logging.getLogger(__name__)

CODE_TO_SESSION = "/sns/jscode2session"
STABLE_TOKEN = "/cgi-bin/stable_token"
SUBSCRIBE_SEND = "/cgi-bin/message/subscribe/send"
MSG_SEC_CHECK = "/wxa/msg_sec_check"
REAL_NAME_CHECK = "/intp/realname/checkrealnameinfo"
# A retry that would have less time than this left in the budget is not worth starting.
MIN_ATTEMPT_SECONDS = 0.05


@dataclass(frozen=True)
class SessionInfo:
    """Who logged in, per code2Session; the session_key is a secret and stays out of repr."""

    openid: str
    unionid: str | None
    session_key: str = field(repr=False)


class WeChatClient:
    """Calls the WeChat server API with timeouts, bounded retries and a shared access token."""

    def __init__(
        self,
        api_base: str,
        appid: str,
        secret: str,
        redis: redis.Redis,
        timeout: float = 5.0,
        max_attempts: int = 3,
        backoff_seconds: float = 0.2,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        budget_seconds: float = 8.0,
        breaker: CircuitBreaker | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api_base = api_base.rstrip("/")
        self.appid = appid
        self._secret = secret
        self._timeout = timeout
        self._max_attempts = max(1, max_attempts)
        self._backoff_seconds = backoff_seconds
        self._session = session if session is not None else requests.Session()
        self._sleep = sleep
        # One call, retries and pauses included, ends within this; a login waits no longer.
        self._budget_seconds = budget_seconds
        self.breaker = breaker if breaker is not None else CircuitBreaker()
        self._clock = clock
        # Keyed by AppID so that switching between the stub and WeChat never serves a token
        # of the other one.
        self.tokens = AccessTokenHolder(
            self.fetch_access_token, redis, cache_key=f"wechat:access_token:{appid}")
        _redact_urllib3_logs()

    def __repr__(self) -> str:
        return f"WeChatClient(api_base={self._api_base!r}, appid={self.appid!r})"

    # --- the API ------------------------------------------------------------------------------

    def code_to_session(self, js_code: str) -> SessionInfo:
        """Exchange a login code (wx.login) for the user's openid, unionid and session_key."""
        # A retry after a lost answer may find the code used (40163): the user logs in again.
        answer = self._call("GET", CODE_TO_SESSION, params={
            "appid": self.appid, "secret": self._secret, "js_code": js_code,
            "grant_type": "authorization_code",
        }, sensitive=(js_code,))
        openid, session_key = answer.get("openid"), answer.get("session_key")
        if not (isinstance(openid, str) and openid and isinstance(session_key, str)
                and session_key):
            raise WeChatUnavailable(f"{CODE_TO_SESSION}: answer without openid or session_key")
        unionid = answer.get("unionid")
        return SessionInfo(openid, unionid if isinstance(unionid, str) and unionid else None,
                           session_key)

    def access_token(self, force_refresh: bool = False) -> str:
        """The shared access token; force_refresh replaces the cached one (quota-limited)."""
        return self.tokens.get(force_refresh=force_refresh)

    def fetch_access_token(self, force_refresh: bool = False) -> tuple[str, int]:
        """One stable_token call past the cache: (access_token, expires_in seconds)."""
        answer = self._call("POST", STABLE_TOKEN, body={
            "grant_type": "client_credential", "appid": self.appid, "secret": self._secret,
            "force_refresh": force_refresh,
        })
        token, expires_in = answer.get("access_token"), answer.get("expires_in")
        if not (isinstance(token, str) and token and isinstance(expires_in, int)
                and expires_in > 0):
            raise WeChatUnavailable(f"{STABLE_TOKEN}: answer without access_token or expires_in")
        return token, expires_in

    def send_subscribe_message(
        self,
        touser: str,
        template_id: str,
        data: dict[str, str],
        page: str | None = None,
        miniprogram_state: str = "formal",
        lang: str = "zh_CN",
    ) -> dict[str, Any]:
        """Send a subscribe message; data maps template keys to plain values."""
        message: dict[str, Any] = {
            "touser": touser, "template_id": template_id,
            "data": {key: {"value": value} for key, value in data.items()},
            "miniprogram_state": miniprogram_state, "lang": lang,
        }
        if page is not None:
            message["page"] = page
        return self._call_with_token(SUBSCRIBE_SEND, message)

    def msg_sec_check(self, openid: str, content: str, scene: int = 2) -> TextVerdict:
        """WeChat's verdict on a user's text: suggestion "pass", "review" or "risky", and label."""
        # The text travels only in the body, never in the URL that gets logged.
        answer = self._call_with_token(MSG_SEC_CHECK, {
            "version": 2, "openid": openid, "scene": scene, "content": content,
        })
        verdict = TextVerdict.from_answer(answer)
        if verdict is None:
            raise WeChatUnavailable(f"{MSG_SEC_CHECK}: answer without a known result.suggest")
        return verdict

    def check_real_name_info(self, openid: str, real_name: str, cred_id: str,
                             code: str) -> RealNameCheck:
        """Whether a name and resident ID number are the user's WeChat real name; `code` is
        the one-time code of WeChat's consent page (RealNameCodeInvalid when it is not good)."""
        # Personal data and the code travel only in the body, never in the URL that gets logged.
        answer = self._call_with_token(REAL_NAME_CHECK, {
            "openid": openid, "real_name": real_name, "cred_id": cred_id, "cred_type": "1",
            "code": code,
        })
        check = RealNameCheck.from_answer(answer)
        if check is None:
            raise WeChatUnavailable(f"{REAL_NAME_CHECK}: answer without verify_openid")
        return check

    # --- HTTP ---------------------------------------------------------------------------------

    def _call_with_token(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST with the access token; on 40001/42001 get one refreshed token and retry once."""
        token = self.access_token()
        try:
            return self._call("POST", path, params={"access_token": token}, body=body,
                              sensitive=(token,))
        except (InvalidCredential, TokenExpired) as error:
            log.info("wechat %s: access token rejected (errcode %s), refreshing once",
                     path, error.errcode)
        token = self.tokens.refresh_after_rejection(token)
        return self._call("POST", path, params={"access_token": token}, body=body,
                          sensitive=(token,))

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
        sensitive: Iterable[str] = (),
    ) -> dict[str, Any]:
        """One API call with retries; the JSON answer, or the WeChatError for its errcode.

        Retries only what may pass by itself: errcode -1, HTTP 5xx, connection errors and
        timeouts, and only within the call's time budget; while the circuit breaker is open
        nothing is sent (`CircuitOpen`). Nothing raised carries the URL, whose query string
        holds secrets.
        """
        hidden = [value for value in (self._secret, *sensitive) if value]
        data, headers = None, None
        if body is not None:
            # UTF-8 rather than \\u escapes: WeChat shows escaped Chinese literally in places.
            data = json.dumps(body, ensure_ascii=False).encode()
            headers = {"Content-Type": "application/json; charset=utf-8"}
        deadline = self._clock() + self._budget_seconds
        failure: WeChatError = WeChatUnavailable(f"{path}: not called")
        for attempt in range(1, self._max_attempts + 1):
            pause = self._retry_pause(attempt, deadline)
            if pause is None:
                log.warning("wechat %s: time budget of %.1f s spent after %d attempts", path,
                            self._budget_seconds, attempt - 1)
                break
            self.breaker.before_call()  # before the pause: an open circuit refuses at once
            if pause:
                self._sleep(pause)
            outcome, retry = self._attempt(method, path, params, data, headers, hidden, deadline)
            if not isinstance(outcome, WeChatError):
                self.breaker.succeeded()
                return outcome
            failure = outcome
            if isinstance(failure, WeChatUnavailable | WeChatBusy):
                self.breaker.failed()
            else:
                self.breaker.succeeded()  # WeChat answered, with an errcode of the request
            self._log_failure(path, _what(failure), attempt)
            if not retry:
                break
        # Raised here, outside any except block, so no requests exception rides along as
        # __context__ with the URL in it.
        raise failure

    def _attempt(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None,
        data: bytes | None,
        headers: dict[str, str] | None,
        hidden: list[str],
        deadline: float,
    ) -> tuple[dict[str, Any] | WeChatError, bool]:
        """One request: the JSON answer or the failure, and whether the failure may pass."""
        remaining = max(0.001, deadline - self._clock())
        # `total` caps connect and read together, so the last attempt ends by the deadline.
        timeout = urllib3.Timeout(total=remaining, connect=self._timeout, read=self._timeout)
        try:
            response = self._session.request(
                method, self._api_base + path, params=params, data=data, headers=headers,
                timeout=timeout)
        except requests.RequestException as exc:
            # Only the exception's class name: its message holds the full URL.
            transient = isinstance(exc, requests.ConnectionError | requests.Timeout)
            return WeChatUnavailable(f"{path}: {type(exc).__name__}"), transient
        if response.status_code >= 500:
            return WeChatUnavailable(f"{path}: HTTP {response.status_code}"), True
        answer = _json_object(response)
        if answer is None:
            return WeChatUnavailable(
                f"{path}: HTTP {response.status_code} answer is not a JSON object"), False
        errcode = answer.get("errcode") or 0
        if not isinstance(errcode, int):
            return WeChatUnavailable(f"{path}: errcode is not a number"), False
        if errcode:
            error = error_for(errcode, _redact(str(answer.get("errmsg", "")), hidden))
            return error, errcode == -1
        if response.status_code >= 400:
            return WeChatUnavailable(f"{path}: HTTP {response.status_code}"), False
        return answer, False

    def _retry_pause(self, attempt: int, deadline: float) -> float | None:
        """Seconds to wait before this attempt (none before the first); None when the
        budget would be spent by then."""
        if attempt == 1:
            return 0.0
        pause = self._backoff(attempt)
        if deadline - (self._clock() + pause) < MIN_ATTEMPT_SECONDS:
            return None
        return pause

    def _backoff(self, attempt: int) -> float:
        # Jitter spreads out workers that failed together; at most half a step, so waits grow.
        step = self._backoff_seconds * 2 ** (attempt - 2)
        return step + random.uniform(0, self._backoff_seconds / 2)

    def _log_failure(self, path: str, what: str, attempt: int) -> None:
        log.warning("wechat %s failed: %s (attempt %d of %d)", path, what, attempt,
                    self._max_attempts)


def _what(failure: WeChatError) -> str:
    """A failure for the log: its errcode, or what went wrong without the path it names."""
    if failure.errcode is not None:
        return f"errcode {failure.errcode}"
    return str(failure).partition(": ")[2] or str(failure)


def _json_object(response: requests.Response) -> dict[str, Any] | None:
    try:
        answer = response.json()
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def _redact(text: str, hidden: Iterable[str]) -> str:
    for value in hidden:
        text = text.replace(value, "***")
    return text


# --- keeping secrets out of urllib3's debug log --------------------------------------------

_QUERY_STRING = re.compile(r"\?[^\s\"']*")


class _QueryStringRedactor(logging.Filter):
    """Cuts query strings (our appsecret, login codes, access tokens) out of urllib3's records."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg, record.args = _QUERY_STRING.sub("?<redacted>", message), ()
        return True


_URLLIB3_LOGGERS = ("urllib3.connectionpool", "urllib3.util.retry")


def _redact_urllib3_logs() -> None:
    """Install the redactor once on the urllib3 loggers that print request URLs at DEBUG."""
    for name in _URLLIB3_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _QueryStringRedactor) for f in logger.filters):
            logger.addFilter(_QueryStringRedactor())
