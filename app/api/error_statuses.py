"""The error statuses each operation of the OpenAPI document can answer, in the one shape.

Most are implied, so no route types them: by the operation's shape (a bearer token, a path
parameter, a body, query arguments; a backing service down) or by a decorator of the view
that notes them with `note_errors` (permissions, per-IP limits, department signatures). What
a route answers beyond that it declares with `@blp.alt_response(status, schema=ErrorSchema)`,
and a declared status keeps its own description.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any, TypeVar

from apispec import BasePlugin

F = TypeVar("F", bound=Callable[..., Any])
# Where a decorator leaves its statuses in the view's manual docs until the plugin reads them.
NOTED = "x-error-statuses"

TOKEN_REFUSED = 401      # missing, invalid, expired or revoked bearer token
NO_SUCH_PATH = 404       # no such resource, or a path value of the wrong form
BODY_ERRORS = (400, 413, 422)  # not JSON, over the size limit, refused by its schema
QUERY_REFUSED = 422
SERVICE_DOWN = 503       # the database, Redis or WeChat cannot be reached


def note_errors(view: F, *statuses: int, **manual_doc: Any) -> F:
    """Note on `view` error statuses that a decorator of it answers, and any other operation
    fields it implies (`security`, `parameters`), for the document."""
    # flask-smorest reads manual docs from `_apidoc` (functools.wraps copied the inner one).
    apidoc = dict(getattr(view, "_apidoc", {}))
    manual = {**apidoc.get("manual_doc", {}), **manual_doc}
    manual[NOTED] = sorted(set(manual.get(NOTED, ())) | set(statuses))
    apidoc["manual_doc"] = manual
    view._apidoc = apidoc  # type: ignore[attr-defined]
    return view


def implied_by_shape(path: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation's shape implies, whatever its view does."""
    statuses = {SERVICE_DOWN}
    if any(requirement for requirement in operation.get("security", ())):
        statuses.add(TOKEN_REFUSED)
    if "{" in path:
        statuses.add(NO_SUCH_PATH)
    if "requestBody" in operation:
        statuses.update(BODY_ERRORS)
    if any(isinstance(parameter, dict) and parameter.get("in") == "query"
           for parameter in operation.get("parameters", ())):
        statuses.add(QUERY_REFUSED)
    return statuses


class ErrorStatusesPlugin(BasePlugin):
    """Lists on every operation the error statuses its shape and its decorators imply."""

    def operation_helper(self, path: str | None = None,
                         operations: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """Add each implied status the operation does not declare itself, in the one shape."""
        for operation in (operations or {}).values():
            statuses = set(operation.pop(NOTED, ())) | implied_by_shape(path or "", operation)
            responses = operation.setdefault("responses", {})
            declared = {str(status) for status in responses}
            for status in sorted(statuses):
                if str(status) not in declared:
                    # flask-smorest registers a response in the error shape per status name.
                    responses[status] = HTTPStatus(status).name
