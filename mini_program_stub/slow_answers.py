"""Slow answers: the stub plays a WeChat that is slow to answer a path, for timeout tests.

- `POST /_stub/delays` `{"path", "seconds", "count"?}` → 201: the next `count` calls (default 1)
  of the WeChat path are answered `seconds` late. Each call is counted and does its work when
  it arrives (a login code is used up), as when WeChat did the work but its answer is late.
- `DELETE /_stub/delays` → 200 `{"released"}`: no more delays, and answers held back now go out
  at once, so a test ends without threads still waiting in the stub.

`/_stub/reset` does the same as the DELETE.
"""

from __future__ import annotations

import threading
from collections import deque

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from mini_program_stub.wechat_server import _control_body, _field, _usage_error
from mini_program_stub.wechat_state import StubUsageError, WeChatState

SLOW_ANSWERS_KEY = "wechat_stub_slow_answers"
CONTROL_PREFIX = "/_stub/"
MAX_DELAY_SECONDS = 120

slow_answers_api = Blueprint("stub_slow_answers", __name__, url_prefix="/_stub")
slow_answers_api.register_error_handler(StubUsageError, _usage_error)


class SlowAnswers:
    """Delays due per path, and the event that lets held answers go; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._due: dict[str, deque[float]] = {}
        self._release = threading.Event()

    def add(self, path: str, seconds: float, count: int) -> None:
        """Answer the next `count` calls of `path` `seconds` late."""
        with self._lock:
            self._due.setdefault(path, deque()).extend([seconds] * count)

    def hold(self, path: str) -> float:
        """Wait out the delay due for this call of `path`, if any; the seconds it was due."""
        with self._lock:
            due = self._due.get(path)
            if not due:
                return 0.0
            seconds, release = due.popleft(), self._release
        release.wait(seconds)
        return seconds

    def clear(self) -> int:
        """Drop the delays still due and let every held answer go; how many were due."""
        with self._lock:
            dropped = sum(len(due) for due in self._due.values())
            self._due.clear()
            self._release.set()
            self._release = threading.Event()
        return dropped


def install_slow_answers(app: Flask, state: WeChatState) -> SlowAnswers:
    """Give a stub app its delays: held after each WeChat call, cleared by `state.reset()`."""
    delays = app.extensions[SLOW_ANSWERS_KEY] = SlowAnswers()
    state.on_reset(delays.clear)
    app.register_blueprint(slow_answers_api)

    @app.after_request
    def answer_late(response: Response) -> Response:
        if not request.path.startswith(CONTROL_PREFIX):
            delays.hold(request.path)
        return response

    return delays


def slow_answers(app: Flask | None = None) -> SlowAnswers:
    """The delays of a stub app (the current app by default)."""
    return (app or current_app).extensions[SLOW_ANSWERS_KEY]


@slow_answers_api.post("/delays")
def add_delay() -> tuple[Response, int]:
    """Answer the next `count` calls of a WeChat path `seconds` late."""
    body = _control_body()
    path = _field(body, "path", str)
    seconds = _field(body, "seconds", (int, float))
    count = _field(body, "count", int, 1)
    if path.startswith(CONTROL_PREFIX) or not path.startswith("/"):
        raise StubUsageError("path must be a WeChat path such as /sns/jscode2session")
    if not 0 < seconds <= MAX_DELAY_SECONDS or not 1 <= count <= 10_000:
        raise StubUsageError(f"need 0 < seconds <= {MAX_DELAY_SECONDS}, 1 <= count <= 10000")
    slow_answers().add(path, float(seconds), count)
    return jsonify(path=path, seconds=seconds, count=count), 201


@slow_answers_api.delete("/delays")
def clear_delays() -> Response:
    """Drop every delay still due and send held answers now."""
    return jsonify(released=slow_answers().clear())
