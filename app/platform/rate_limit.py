"""Rate limits kept in Redis, shared by every worker: a fixed window per key (per process
while Redis is down)."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import redis

from app.extensions import redis_store
from app.platform.errors import RateLimited
from app.platform.local_rate_limit import local_windows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateLimit:
    limit: int
    window_seconds: int


def hit(scope: str, key: str, rule: RateLimit) -> int | None:
    """Count one attempt; None when allowed, else the seconds to wait before trying again.

    While Redis is down each process counts for itself (`local_rate_limit`): refusing every
    login during a cache outage would be worse than a looser limit, and no limit at all would
    leave logins open to guessing for as long as the outage lasts.
    """
    now = time.time()
    window = int(now // rule.window_seconds)
    redis_key = f"ratelimit:{scope}:{key}:{window}"
    def count_attempt(client: redis.Redis) -> int:
        pipe = client.pipeline()
        pipe.incr(redis_key)
        pipe.expire(redis_key, rule.window_seconds + 1)
        return pipe.execute()[0]

    count = redis_store.attempt(count_attempt, None)
    if count is None:
        count, remaining = local_windows().count(f"{scope}:{key}", rule.window_seconds)
        return None if count <= rule.limit else max(1, math.ceil(remaining))
    if count <= rule.limit:
        return None
    return max(1, math.ceil((window + 1) * rule.window_seconds - now))


def enforce(scope: str, key: str, rule: RateLimit) -> None:
    """Raise `RateLimited` with the seconds to wait when `key` is over its limit."""
    retry_after = hit(scope, key, rule)
    if retry_after is not None:
        log.info("rate limit %s exceeded", scope)
        raise RateLimited(f"操作过于频繁，请 {retry_after} 秒后再试",
                          retry_after_seconds=retry_after)
