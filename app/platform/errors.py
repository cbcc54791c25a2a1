"""Domain errors: what went wrong, in words a person can read, without any HTTP in them.

Views, Celery tasks and CLI commands all call the same domain functions; each error carries a
stable snake_case `error` code that clients switch on and a Chinese `message` for people, and
`InvalidInput` names the field. `app.api.errors` alone turns them into the one error shape with
a status code; a task or a command reports or retries them as it sees fit.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""

    error = "error"
    message = "请求失败"

    def __init__(self, message: str | None = None, *, error: str | None = None,
                 errors: dict[str, list[str]] | None = None) -> None:
        self.message = message or self.message
        self.error = error or self.error
        self.errors = errors
        super().__init__(self.message)


class InvalidInput(DomainError):
    """The input breaks a rule: names the field, with `details` (default: the message) for it."""

    error = "validation_error"
    message = "请求参数有误"

    def __init__(self, field: str, message: str, details: list[str] | None = None, *,
                 error: str | None = None) -> None:
        super().__init__(message, error=error, errors={field: details or [message]})
        self.field = field


class NotFound(DomainError):
    """The thing does not exist, or the caller may not know that it does."""

    error = "not_found"
    message = "请求的资源不存在"


class Conflict(DomainError):
    """The request clashes with the state of things (a duplicate, a state that forbids it)."""

    error = "conflict"
    message = "与现有数据冲突"


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    error = "forbidden"
    message = "无权进行此操作"


class Unauthenticated(DomainError):
    """Who is calling could not be established (bad credentials, a revoked session)."""

    error = "unauthorized"
    message = "请先登录"


class TryAgainLater(DomainError):
    """An error that passes: the caller may try again after `retry_after_seconds`."""

    retry_after_seconds = 5

    def __init__(self, message: str | None = None, *, retry_after_seconds: int | None = None,
                 error: str | None = None, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message, error=error, errors=errors)
        if retry_after_seconds is not None:
            self.retry_after_seconds = retry_after_seconds


class RateLimited(TryAgainLater):
    """Too many attempts: try again after `retry_after_seconds`."""

    error = "rate_limited"
    message = "请求过于频繁，请稍后再试"


class Unavailable(TryAgainLater):
    """A service we depend on cannot answer now; worth trying again later."""

    error = "unavailable"
    message = "服务暂时不可用，请稍后再试"
