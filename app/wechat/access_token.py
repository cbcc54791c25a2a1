"""The access token all workers share: cached in Redis, refreshed early by one lock holder."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import redis

from app.wechat.errors import WeChatError, WeChatUnavailable

log = logging.getLogger(__name__)


class TokenFetcher(Protocol):
    """Asks WeChat for the stable access token; answers (access_token, expires_in seconds)."""

    def __call__(self, force_refresh: bool = False) -> tuple[str, int]: ...


@dataclass(frozen=True)
class _Entry:
    """A cached token: when it stops working, and when to start replacing it."""

    token: str
    expires_at: float
    refresh_at: float


def _text(value: str | bytes | None) -> str | None:
    # The app's client decodes responses; a raw client hands back bytes.
    return value.decode() if isinstance(value, bytes) else value


class AccessTokenHolder:
    """Hands out the shared access token; exactly one worker at a time asks WeChat for a new one."""

    def __init__(
        self,
        fetch: TokenFetcher,
        redis: redis.Redis,
        cache_key: str = "wechat:access_token",
        refresh_margin_seconds: float = 300,
        lock_timeout_seconds: float = 10,
        wait_seconds: float = 5.0,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        poll_seconds: float = 0.05,
    ) -> None:
        self._fetch = fetch
        self._redis = redis
        self.cache_key = cache_key
        self.lock_key = f"{cache_key}:lock"
        self._margin = refresh_margin_seconds
        self._lock_timeout_ms = max(1, int(lock_timeout_seconds * 1000))
        self._wait_seconds = wait_seconds
        self._clock = clock
        self._sleep = sleep
        self._poll_seconds = poll_seconds

    def get(self, force_refresh: bool = False) -> str:
        """The current token; force_refresh replaces the cached one as if WeChat had rejected it."""
        try:
            if force_refresh:
                entry = self._read()
                if entry is not None:
                    return self.refresh_after_rejection(entry.token)

            def fresh(entry: _Entry) -> bool:
                return self._clock() < entry.refresh_at

            def usable(entry: _Entry) -> bool:
                return self._clock() < entry.expires_at

            return self._coordinated(fresh, usable, self._refresh_early)
        except redis.RedisError as exc:
            # The stable token is the same for every caller, so fetching it uncoordinated while
            # Redis is down costs quota but hands out no conflicting tokens.
            log.warning("wechat access token: redis unavailable (%s), fetching without the cache",
                        type(exc).__name__)
            return self._fetch()[0]

    def refresh_after_rejection(self, bad_token: str) -> str:
        """A token to replace one an API rejected (40001/42001); one refresh among all workers."""

        def replaced(entry: _Entry) -> bool:
            return entry.token != bad_token and self._clock() < entry.expires_at

        def refresh(entry: _Entry | None) -> str:
            # A forced refresh is limited (20 a day, 30 s apart) and kills the old token at once,
            # so ask first without force: WeChat hands out a new token by itself when the bad one
            # is expired or invalid by its own clock. Force only when it hands back the same one.
            token = self._fetch_and_store(force_refresh=False)
            if token == bad_token:
                log.warning("wechat access token: rejected token still current, forcing refresh")
                token = self._fetch_and_store(force_refresh=True)
            return token

        # Another worker may have replaced the bad token already; then its token is the answer.
        return self._coordinated(replaced, replaced, refresh)

    # --- coordination -----------------------------------------------------------------------

    def _coordinated(
        self,
        fresh: Callable[[_Entry], bool],
        usable: Callable[[_Entry], bool],
        refresh: Callable[[_Entry | None], str],
    ) -> str:
        """A fresh cached token, or refresh() by the lock owner while the others wait for it.

        While another worker holds the lock, a usable (not fresh) token is handed out rather
        than waited on; without one, poll the cache until wait_seconds run out.
        """
        deadline = time.monotonic() + self._wait_seconds
        while True:
            entry = self._read()
            if entry is not None and fresh(entry):
                return entry.token
            owner = self._try_lock()
            if owner is not None:
                try:
                    # Re-read: the previous owner may have stored a token since our first look.
                    entry = self._read()
                    if entry is not None and fresh(entry):
                        return entry.token
                    return refresh(entry)
                finally:
                    self._unlock(owner)
            if entry is not None and usable(entry):
                return entry.token
            if time.monotonic() >= deadline:
                raise WeChatUnavailable("timed out waiting for another worker's access token")
            self._sleep(self._poll_seconds)

    def _refresh_early(self, entry: _Entry | None) -> str:
        try:
            return self._fetch_and_store(force_refresh=False)
        except WeChatError as error:
            # A refresh that fails while the old token still works should not fail the caller.
            if entry is not None and self._clock() < entry.expires_at:
                log.warning("wechat access token: early refresh failed (errcode %s), keeping "
                            "the cached token", error.errcode)
                return entry.token
            raise

    def _fetch_and_store(self, force_refresh: bool) -> str:
        token, expires_in = self._fetch(force_refresh=force_refresh)
        now = self._clock()
        # WeChat hands out a new stable token in the last 5 minutes of the old one. Should it
        # hand back the old one anyway, refreshing again at half its remaining life keeps us
        # from asking on every call.
        refresh_in = max(expires_in - self._margin, expires_in / 2)
        value = {"token": token, "expires_at": now + expires_in, "refresh_at": now + refresh_in}
        self._redis.set(self.cache_key, json.dumps(value), px=max(1, int(expires_in * 1000)))
        return token

    def _read(self) -> _Entry | None:
        raw = _text(self._redis.get(self.cache_key))
        if raw is None:
            return None
        try:
            value = json.loads(raw)
            return _Entry(str(value["token"]), float(value["expires_at"]),
                          float(value["refresh_at"]))
        except (ValueError, TypeError, KeyError):
            return None  # an unreadable entry is as good as none: it gets replaced

    # --- the lock ---------------------------------------------------------------------------

    def _try_lock(self) -> str | None:
        """Our owner id if we took the lock, else None."""
        owner = secrets.token_hex(16)
        # The lock expires so a crashed owner cannot block refreshes; should a slow fetch outlive
        # it, a second worker's fetch is harmless: the stable token is the same for both.
        taken = self._redis.set(self.lock_key, owner, nx=True, px=self._lock_timeout_ms)
        return owner if taken else None

    def _unlock(self, owner: str) -> None:
        """Delete the lock only if it is still ours (it may have expired and been taken since)."""
        # Compare-and-delete with WATCH/MULTI rather than a Lua script: same guarantee, and it
        # also works on fakeredis without the optional Lua runtime.
        with self._redis.pipeline() as pipe:
            try:
                pipe.watch(self.lock_key)
                if _text(pipe.get(self.lock_key)) == owner:
                    pipe.multi()
                    pipe.delete(self.lock_key)
                    pipe.execute()
            except redis.WatchError:
                pass  # the lock changed hands between our GET and DEL: not ours to delete
