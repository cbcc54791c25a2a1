"""Request ids and the access log: one id per request, echoed back, one log line per request."""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, g, request

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

access_log = logging.getLogger("app.access")


def register_request_hooks(app: Flask) -> None:
    """Give each request an id, return it, and write one access-log line per request."""

    @app.before_request
    def start_request() -> None:
        environ = request.environ
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        context = g._get_current_object()  # one proxy look-up for the three names below
        context.request_id = (incoming if _VALID_REQUEST_ID.match(incoming)
                              else uuid.uuid4().hex)
        context.request_started = time.perf_counter()
        context.client_ip = environ.get("REMOTE_ADDR") or ""

    @app.after_request
    def finish_request(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers[REQUEST_ID_HEADER] = request_id
        if not access_log.isEnabledFor(logging.INFO):
            return response  # LOG_LEVEL=WARNING: spare every request the line's making
        started = g.get("request_started")
        duration_ms = round((time.perf_counter() - started) * 1000, 2) if started else None
        # The path only: query strings can carry case numbers and query codes.
        method, path = request.method, request.path
        access_log.info(
            "%s %s %s %sms", method, path, response.status_code, duration_ms,
            extra={"method": method, "path": path, "status": response.status_code,
                   "duration_ms": duration_ms, "remote_addr": request.remote_addr})
        return response
