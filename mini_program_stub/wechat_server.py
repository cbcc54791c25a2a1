"""A stub of the WeChat server API over HTTP, plus test-only controls under /_stub/.

The WeChat paths answer as api.weixin.qq.com does (HTTP 200, errcode/errmsg on failure), so the
project's WeChat client talks to it unchanged; rules and state live in `wechat_state`. The
real-name check and its controls (`/_stub/real-names`, `/_stub/real-name-codes`) live in
`real_name`, which says how they answer; delayed answers (`/_stub/delays`) in `slow_answers`.
"""

from __future__ import annotations

import argparse
import functools
import os
import secrets
import threading
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.serving import WSGIRequestHandler, make_server

from mini_program_stub.wechat_state import (
    TEXT_CHECK_MAX_CHARS,
    InjectedFailure,
    StubUsageError,
    WeChatError,
    WeChatState,
    errmsg_for,
)

DEFAULT_APPID = "wx-demo-appid"
DEFAULT_SECRET = "wx-demo-secret"
DEFAULT_PORT = 5001
HOST = "127.0.0.1"
STATE_KEY = "wechat_stub"

wechat_api = Blueprint("wechat_api", __name__)
control_api = Blueprint("stub_control", __name__, url_prefix="/_stub")


def create_stub_app(
    appid: str = DEFAULT_APPID,
    secret: str = DEFAULT_SECRET,
    clock: Callable[[], float] | None = None,
) -> Flask:
    """A Flask app that plays the WeChat server for one mini program (appid + secret)."""
    app = Flask(__name__)
    app.extensions[STATE_KEY] = WeChatState(appid, secret, clock)
    app.register_blueprint(wechat_api)
    app.register_blueprint(control_api)
    # Imported here: these modules build on this one's endpoint helpers.
    from mini_program_stub.real_name import install_real_names
    from mini_program_stub.slow_answers import install_slow_answers

    install_real_names(app, stub_state(app))
    install_slow_answers(app, stub_state(app))
    return app


def stub_state(app: Flask | None = None) -> WeChatState:
    """The in-memory state behind a stub app (the current app by default)."""
    return (app or current_app).extensions[STATE_KEY]


# --- the WeChat API -----------------------------------------------------------------------


def _failure_response(failure: InjectedFailure) -> Response:
    if 200 <= failure.http_status < 300:
        response = jsonify(errcode=failure.errcode, errmsg=errmsg_for(failure.errcode))
        response.status_code = failure.http_status
        return response
    # A broken gateway in front of WeChat answers HTML, not JSON; clients must cope with that.
    reason = f"{failure.http_status} {HTTP_STATUS_CODES.get(failure.http_status, 'Error')}"
    page = f"<html><head><title>{reason}</title></head><body><h1>{reason}</h1></body></html>"
    return Response(page, status=failure.http_status, mimetype="text/html")


def wechat_endpoint(view: Callable[[WeChatState], dict[str, Any]]) -> Callable[[], Response]:
    """Count the call, answer an injected failure if one is due, else the view's JSON or errcode."""

    @functools.wraps(view)
    def answer() -> Response:
        state = stub_state()
        failure = state.record_call(request.path)
        if failure is not None:
            return _failure_response(failure)
        try:
            return jsonify(view(state))
        except WeChatError as error:
            return jsonify(errcode=error.errcode, errmsg=error.errmsg)

    return answer


def _json_object() -> dict[str, Any]:
    # WeChat reads the body as JSON whatever the Content-Type says.
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise WeChatError(47001)
    return body


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    return value if isinstance(value, str) else ""


@wechat_api.get("/sns/jscode2session")
@wechat_endpoint
def jscode2session(state: WeChatState) -> dict[str, Any]:
    """code2Session: a login code for the user's openid and session_key."""
    args = request.args
    return state.code_to_session(
        args.get("appid", ""), args.get("secret", ""), args.get("js_code", ""),
        args.get("grant_type", ""),
    )


@wechat_api.get("/cgi-bin/token")
@wechat_endpoint
def token(state: WeChatState) -> dict[str, Any]:
    """getAccessToken: a new access token each call."""
    args = request.args
    return state.issue_token(
        args.get("appid", ""), args.get("secret", ""), args.get("grant_type", "")
    )


@wechat_api.post("/cgi-bin/stable_token")
@wechat_endpoint
def stable_token(state: WeChatState) -> dict[str, Any]:
    """getStableAccessToken: the same token while it is valid, unless forced."""
    body = _json_object()
    force_refresh = body.get("force_refresh", False)
    if not isinstance(force_refresh, bool):
        raise WeChatError(47001)
    return state.stable_token(
        _text(body, "appid"), _text(body, "secret"), _text(body, "grant_type"), force_refresh
    )


@wechat_api.post("/cgi-bin/message/subscribe/send")
@wechat_endpoint
def send_subscribe_message(state: WeChatState) -> dict[str, Any]:
    """subscribeMessage.send: deliver a templated message the user consented to."""
    state.check_token(request.args.get("access_token", ""))
    msgid = state.send_subscribe_message(_json_object())
    return {"errcode": 0, "errmsg": "ok", "msgid": msgid}


@wechat_api.post("/wxa/msg_sec_check")
@wechat_endpoint
def msg_sec_check(state: WeChatState) -> dict[str, Any]:
    """msgSecCheck (version 2): whether a user's text is fit to show to others."""
    state.check_token(request.args.get("access_token", ""))
    body = _json_object()
    version, scene = body.get("version"), body.get("scene")
    content, openid = body.get("content"), body.get("openid")
    well_formed = (
        type(version) is int and version == 2
        and type(scene) is int and 1 <= scene <= 4
        and isinstance(content, str) and len(content) <= TEXT_CHECK_MAX_CHARS
        and isinstance(openid, str) and openid != ""
    )
    if not well_formed:
        raise WeChatError(47001)
    suggest, label, word = state.check_text(openid, content, scene)
    detail = [{"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label,
               "prob": 90}]
    if word is not None:
        detail.append({"strategy": "keyword", "errcode": 0, "suggest": suggest, "label": label,
                       "level": 20, "keyword": word})
    return {
        "errcode": 0, "errmsg": "ok", "result": {"suggest": suggest, "label": label},
        "detail": detail, "trace_id": "-".join(secrets.token_hex(4) for _ in range(3)),
    }


# --- test-only controls -------------------------------------------------------------------

_REQUIRED: Any = object()


@control_api.errorhandler(StubUsageError)
def _usage_error(error: StubUsageError) -> tuple[Response, int]:
    return jsonify(message=str(error)), 400


def _control_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise StubUsageError("expected a JSON object body")
    return body


def _field(body: dict[str, Any], name: str, kinds: type | tuple[type, ...],
           default: Any = _REQUIRED) -> Any:
    """A field of a control body, of the given type(s); bool never passes for a number."""
    if name not in body or (body[name] is None and default is not _REQUIRED):
        if default is _REQUIRED:
            raise StubUsageError(f"{name} is required")
        return default
    value = body[name]
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise StubUsageError(f"{name} must be {' or '.join(kind.__name__ for kind in kinds)}")
    if isinstance(value, str) and not value:
        raise StubUsageError(f"{name} must not be empty")
    return value


@control_api.post("/codes")
def mint_code() -> tuple[Response, int]:
    """Mint a login code for an openid (which thereby becomes a known user)."""
    body = _control_body()
    openid = _field(body, "openid", str)
    code = stub_state().mint_code(openid, _field(body, "unionid", str, None))
    return jsonify(code=code, openid=openid), 201


@control_api.get("/messages")
def list_messages() -> Response:
    """The subscribe messages the stub accepted, optionally for one touser."""
    return jsonify(messages=stub_state().messages(request.args.get("touser")))


@control_api.get("/text-checks")
def list_text_checks() -> Response:
    """The texts msg_sec_check gave a verdict on, with it, optionally for one openid."""
    return jsonify(text_checks=stub_state().text_checks(request.args.get("openid")))


@control_api.put("/subscriptions")
def set_subscription() -> Response:
    """Set how many sends of a template a user has consented to."""
    body = _control_body()
    openid, template_id = _field(body, "openid", str), _field(body, "template_id", str)
    credits = _field(body, "credits", int)
    if credits < 0:
        raise StubUsageError("credits must be >= 0")
    stub_state().set_credits(openid, template_id, credits)
    return jsonify(openid=openid, template_id=template_id, credits=credits)


@control_api.get("/subscriptions")
def list_subscriptions() -> Response:
    """Consent credits, optionally for one openid."""
    return jsonify(subscriptions=stub_state().subscriptions(request.args.get("openid")))


@control_api.post("/templates")
def add_template() -> tuple[Response, int]:
    """Add a subscribe-message template."""
    body = _control_body()
    template_id, keys = _field(body, "template_id", str), _field(body, "keys", list)
    long_term = _field(body, "long_term", bool, False)
    if not all(isinstance(key, str) for key in keys):
        raise StubUsageError("keys must be a list of strings")
    stub_state().add_template(template_id, keys, long_term)
    return jsonify(template_id=template_id, keys=keys, long_term=long_term), 201


@control_api.post("/failures")
def add_failure() -> tuple[Response, int]:
    """Make the next `count` calls of a WeChat path fail with an errcode and/or HTTP status."""
    body = _control_body()
    path = _field(body, "path", str)
    errcode = _field(body, "errcode", int, -1)
    count = _field(body, "count", int, 1)
    http_status = _field(body, "http_status", int, 200)
    if errcode == 0 or not 1 <= count <= 10_000 or not 100 <= http_status <= 599:
        raise StubUsageError("need errcode != 0, 1 <= count <= 10000, 100 <= http_status <= 599")
    stub_state().add_failure(path, InjectedFailure(errcode, http_status), count)
    return jsonify(path=path, errcode=errcode, count=count, http_status=http_status), 201


@control_api.post("/blocked")
def block_openid() -> Response:
    """Block an openid: its logins fail with 40226."""
    openid = _field(_control_body(), "openid", str)
    stub_state().block(openid)
    return jsonify(openid=openid, blocked=True)


@control_api.post("/tokens/expire")
def expire_tokens() -> Response:
    """Make every access token issued so far expired (42001)."""
    return jsonify(tokens=stub_state().expire_tokens())


@control_api.post("/tokens/invalidate")
def invalidate_tokens() -> Response:
    """Make every access token issued so far invalid (40001)."""
    return jsonify(tokens=stub_state().invalidate_tokens())


@control_api.post("/clock")
def advance_clock() -> Response:
    """Move the stub's clock forward by advance_seconds."""
    seconds = _field(_control_body(), "advance_seconds", (int, float))
    if not 0 <= seconds < float("inf"):
        raise StubUsageError("advance_seconds must be a finite number >= 0")
    return jsonify(now=stub_state().advance_clock(seconds))


@control_api.get("/calls")
def call_counts() -> Response:
    """How many times each WeChat path was called."""
    return jsonify(calls=stub_state().call_counts())


@control_api.post("/reset")
def reset() -> Response:
    """Forget everything and go back to the default templates."""
    stub_state().reset()
    return jsonify(reset=True)


# --- serving ------------------------------------------------------------------------------


class _QuietRequestHandler(WSGIRequestHandler):
    """Keeps test output free of one access-log line per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class _PathOnlyRequestHandler(WSGIRequestHandler):
    """Logs requests without their query strings, which carry the appsecret and login codes."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        method, _, rest = self.requestline.partition(" ")
        self.log("info", '"%s %s" %s %s', method, rest.split("?")[0].split(" ")[0], code, size)


class StubServer:
    """Serves a stub app on 127.0.0.1 at an ephemeral port in a background thread.

    It serves from construction on; use it as a context manager or call stop().
    """

    def __init__(self, app: Flask | None = None) -> None:
        self.app = app if app is not None else create_stub_app()
        self._server = make_server(
            HOST, 0, self.app, threaded=True, request_handler=_QuietRequestHandler
        )
        self.url = f"http://{HOST}:{self._server.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="wechat-stub", daemon=True
        )
        self._thread.start()
        self._stopped = False

    @property
    def state(self) -> WeChatState:
        """The served app's in-memory state."""
        return stub_state(self.app)

    def stop(self) -> None:
        """Stop serving and free the port; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()

    def __enter__(self) -> StubServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """Serve the stub: port from --port or WECHAT_STUB_PORT, app from WECHAT_APPID/_SECRET,
    with the demo people's WeChat real names."""
    from mini_program_stub.real_name import preset_demo_people

    parser = argparse.ArgumentParser(description="Serve a stub of the WeChat server API.")
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("WECHAT_STUB_PORT", DEFAULT_PORT))
    )
    args = parser.parse_args(argv)
    app = create_stub_app(
        os.environ.get("WECHAT_APPID", DEFAULT_APPID),
        os.environ.get("WECHAT_SECRET", DEFAULT_SECRET),
    )
    preset_demo_people(app)
    server = make_server(HOST, args.port, app, threaded=True,
                         request_handler=_PathOnlyRequestHandler)
    print(f"WeChat stub serving on http://{HOST}:{server.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
