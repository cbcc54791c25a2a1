"""Who is calling: JWT identity loading, revocation checks, and role requirements."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask_jwt_extended import JWTManager, current_user, get_jwt, verify_jwt_in_request

from app.api.error_statuses import note_errors
from app.identity.sessions import caller_of, session_is_revoked
from app.models import AdminAccount, User
from app.platform.errors import Forbidden

F = TypeVar("F", bound=Callable[..., Any])
BEARER_AUTH = "bearerAuth"


def register_jwt_callbacks(jwt: JWTManager) -> None:
    """Load the caller behind a token, and refuse tokens of revoked sessions."""

    @jwt.user_lookup_loader
    def load_caller(header: dict, claims: dict) -> User | AdminAccount | None:
        return caller_of(claims)

    @jwt.token_in_blocklist_loader
    def is_revoked(header: dict, claims: dict) -> bool:
        return session_is_revoked(claims.get("fam"))


def _require(check: Callable[[], None], refresh: bool = False) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            verify_jwt_in_request(refresh=refresh)
            check()
            return view(*args, **kwargs)

        # The route takes a bearer token: 401 without a valid one; 403 for a caller of the
        # wrong kind or roles.
        return note_errors(wrapper, 401, 403,  # type: ignore[return-value]
                           security=[{BEARER_AUTH: []}])

    return decorator


def _citizen() -> None:
    if get_jwt().get("kind") != "user":
        raise Forbidden("仅限个人用户使用")


def user_required(view: F) -> F:
    """The caller must be a logged-in mini program user."""
    return _require(_citizen)(view)


def roles_required(*roles: str) -> Callable[[F], F]:
    """The caller must be an admin account with one of `roles` (super_admin has all admin roles,
    but not `verifier`, which belongs to institutions)."""

    def check() -> None:
        claims = get_jwt()
        held = set(current_user.roles) if claims.get("kind") == "admin" else set()
        allowed = set(roles) | ({"super_admin"} if "verifier" not in roles else set())
        if not held & allowed:
            raise Forbidden("没有执行此操作的权限",
                            errors={"roles": [f"requires one of: {', '.join(sorted(roles))}"]})

    return _require(check)


def optional_user() -> User | None:
    """The logged-in mini program user, if a valid token came with the request."""
    verify_jwt_in_request(optional=True)
    return current_user if get_jwt().get("kind") == "user" else None
