"""HTTP client of the WeChat server API: login, access token, subscribe messages, text checks."""

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

from app.wechat.access_token import AccessTokenHolder
from app.wechat.errors import (
    InvalidCredential,
    TokenExpired,
    WeChatError,
    WeChatUnavailable,
    error_for,
)

log = logging.getLogger(__name__)

CODE_TO_SESSION = "/sns/jscode2session"
STABLE_TOKEN = "/cgi-bin/stable_token"
SUBSCRIBE_SEND = "/cgi-bin/message/subscribe/send"
MSG_SEC_CHECK = "/wxa/msg_sec_check"


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
    ) -> None:
        self._api_base = api_base.rstrip("/")
        self.appid = appid
        self._secret = secret
        self._timeout = timeout
        self._max_attempts = max(1, max_attempts)
        self._backoff_seconds = backoff_seconds
        self._session = session if session is not None else requests.Session()
        self._sleep = sleep
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

    def msg_sec_check(self, openid: str, content: str, scene: int = 2) -> str:
        """WeChat's verdict on a user's text: "pass", "review" or "risky"."""
        answer = self._call_with_token(MSG_SEC_CHECK, {
            "version": 2, "openid": openid, "scene": scene, "content": content,
        })
        result = answer.get("result")
        suggest = result.get("suggest") if isinstance(result, dict) else None
        if not isinstance(suggest, str):
            raise WeChatUnavailable(f"{MSG_SEC_CHECK}: answer without result.suggest")
        return suggest

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
        timeouts. Nothing raised carries the URL, whose query string holds secrets.
        """
        hidden = [value for value in (self._secret, *sensitive) if value]
        data, headers = None, None
        if body is not None:
            # UTF-8 rather than \\u escapes: WeChat shows escaped Chinese literally in places.
            data = json.dumps(body, ensure_ascii=False).encode()
            headers = {"Content-Type": "application/json; charset=utf-8"}
        failure: WeChatError = WeChatUnavailable(f"{path}: not called")
        for attempt in range(1, self._max_attempts + 1):
            if attempt > 1:
                self._sleep(self._backoff(attempt))
            try:
                response = self._session.request(
                    method, self._api_base + path, params=params, data=data, headers=headers,
                    timeout=(self._timeout, self._timeout))
            except requests.RequestException as exc:
                # Only the exception's class name: its message holds the full URL.
                failure = WeChatUnavailable(f"{path}: {type(exc).__name__}")
                self._log_failure(path, type(exc).__name__, attempt)
                if isinstance(exc, requests.ConnectionError | requests.Timeout):
                    continue
                break
            if response.status_code >= 500:
                failure = WeChatUnavailable(f"{path}: HTTP {response.status_code}")
                self._log_failure(path, f"HTTP {response.status_code}", attempt)
                continue
            answer = _json_object(response)
            if answer is None:
                failure = WeChatUnavailable(
                    f"{path}: HTTP {response.status_code} answer is not a JSON object")
                self._log_failure(path, f"HTTP {response.status_code}, not JSON", attempt)
                break
            errcode = answer.get("errcode") or 0
            if not isinstance(errcode, int):
                failure = WeChatUnavailable(f"{path}: errcode is not a number")
                self._log_failure(path, "errcode is not a number", attempt)
                break
            if errcode:
                failure = error_for(errcode, _redact(str(answer.get("errmsg", "")), hidden))
                self._log_failure(path, f"errcode {errcode}", attempt)
                if errcode == -1:
                    continue
                raise failure
            if response.status_code >= 400:
                failure = WeChatUnavailable(f"{path}: HTTP {response.status_code}")
                self._log_failure(path, f"HTTP {response.status_code}", attempt)
                break
            return answer
        # Raised here, outside any except block, so no requests exception rides along as
        # __context__ with the URL in it.
        raise failure

    def _backoff(self, attempt: int) -> float:
        # Jitter spreads out workers that failed together; at most half a step, so waits grow.
        step = self._backoff_seconds * 2 ** (attempt - 2)
        return step + random.uniform(0, self._backoff_seconds / 2)

    def _log_failure(self, path: str, what: str, attempt: int) -> None:
        log.warning("wechat %s failed: %s (attempt %d of %d)", path, what, attempt,
                    self._max_attempts)


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
