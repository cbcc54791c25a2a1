"""Request bodies: read within limits on every route, and required where a route needs one.

`ApiRequest` is the app's request class: `get_json` reads through `json_body` (nesting, number
sizes, Unicode), and a streamed (chunked) body longer than MAX_CONTENT_LENGTH answers 413, as a
declared one does, instead of being cut at the limit and failing as bad JSON. `Blueprint` is
flask-smorest's, parsing bodies through that reader and refusing a missing one unless the route
declares `required=False`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import flask
import flask_smorest
from flask_smorest import abort
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request
from werkzeug.exceptions import RequestEntityTooLarge

from app.api import json_body

NO_BODY = "请求体不能为空，应为 JSON 对象（Content-Type: application/json）"


class ApiRequest(flask.Request):
    """Flask's request with JSON bodies read within limits and streamed bodies held to the
    size limit."""

    @property
    def json_module(self) -> Any:
        """What `get_json` calls `loads` on."""
        return json_body

    @json_module.setter
    def json_module(self, provider: Any) -> None:
        # Flask hands each request the app's JSON provider; bodies are read by json_body.
        pass

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if isinstance(e, json_body.BodyRefused):
            abort(e.status, message=e.message if e.status == 400 else None,
                  errors={e.field: [e.message]})
        return super().on_json_loading_failed(e)

    def get_data(self, cache: bool = True, as_text: bool = False,  # type: ignore[override]
                 parse_form_data: bool = False) -> bytes | str:
        unread = getattr(self, "_cached_data", None) is None
        data = super().get_data(cache=cache, as_text=False, parse_form_data=parse_form_data)
        if unread and self._cut_at_the_limit(data):
            raise RequestEntityTooLarge()
        return data.decode(errors="replace") if as_text else data

    def _cut_at_the_limit(self, data: bytes) -> bool:
        """Whether a body without Content-Length was read up to the limit with more to come.

        werkzeug stops reading such a stream at MAX_CONTENT_LENGTH and hands back what it
        read, as if the body ended there.
        """
        limit = self.max_content_length
        return (limit is not None and self.content_length is None and len(data) >= limit
                and bool(self.input_stream.read(1)))


class BodyParser(FlaskParser):
    """webargs' parser for Flask, reading JSON through `ApiRequest.get_json`."""

    def has_body(self, req: flask.Request) -> bool:
        """Whether the request carries a JSON body (webargs reads no other as JSON)."""
        return is_json_request(req) and bool(req.get_data(cache=True))

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not self.has_body(req):
            return core.missing
        return req.get_json()


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint: bodies read within limits, and required unless declared
    `required=False` (the document says which)."""

    ARGUMENTS_PARSER = BodyParser()

    def arguments(self, schema: Any, *, location: str = "json", required: bool = True,
                  **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        parse = super().arguments(schema, location=location, required=required, **kwargs)
        if location != "json" or not required:
            return parse

        def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
            parsing = parse(view)

            @functools.wraps(parsing)
            def wrapper(*args: Any, **view_kwargs: Any) -> Any:
                if not self.ARGUMENTS_PARSER.has_body(flask.request):
                    abort(422, errors={json_body.BODY: [NO_BODY]})
                return parsing(*args, **view_kwargs)

            return wrapper

        return decorator
