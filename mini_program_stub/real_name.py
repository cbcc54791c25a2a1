"""The stub's real-name information check (城市服务实名信息校验) and its test-only controls.

The WeChat path, token-protected like the other APIs (41001/40001/42001), and open to
`/_stub/failures` like them:

- `POST /intp/realname/checkrealnameinfo?access_token=TOKEN` with
  `{"openid", "real_name", "cred_id", "cred_type": "1", "code"}` compares with the user's record:
  none → `verify_openid` `V_OP_NA`; another name → `V_OP_NM_UM`; the name with another ID
  number → `V_OP_NM_MA` and `verify_real_name` `V_NM_ID_UM`; both → `V_OP_NM_MA` and
  `V_NM_ID_MA` (`verify_real_name` is "" unless the name matches, as WeChat sends it).
  A code that is unknown, expired (after 300 s, like login codes), used, or minted for another
  openid → errcode 80113 "invalid code", which WeChat answers for a bad code on this API.
  A body that is not a JSON object, lacks a field or has a `cred_type` other than "1" → 47001.

The controls:

- `PUT /_stub/real-names` `{"openid", "name", "id_number"}` → 200: the WeChat user's real-name
  record (replacing any earlier one); with no record the user has not real-named.
- `POST /_stub/real-name-codes` `{"openid"}` → 201 `{"code", "openid"}`: a one-time code, as
  WeChat's consent page hands back when that user agrees.

`/_stub/reset` forgets both. `python -m mini_program_stub.wechat_server` starts with the
records of the demo people (`preset_demo_people`), so they can real-name in the demo.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from mini_program_stub.wechat_server import (
    _control_body,
    _field,
    _json_object,
    _usage_error,
    wechat_endpoint,
)
from mini_program_stub.wechat_state import (
    CODE_TTL_SECONDS,
    StubUsageError,
    WeChatError,
    WeChatState,
)

REAL_NAMES_KEY = "wechat_stub_real_names"
INVALID_CODE = 80113
NOT_REAL_NAMED, NAME_MATCHES, NAME_DIFFERS = "V_OP_NA", "V_OP_NM_MA", "V_OP_NM_UM"
ID_MATCHES, ID_DIFFERS = "V_NM_ID_MA", "V_NM_ID_UM"

real_name_api = Blueprint("stub_real_name", __name__)
real_name_api.register_error_handler(StubUsageError, _usage_error)


@dataclass(frozen=True)
class RealNameRecord:
    """What a WeChat user real-named with (through WeChat Pay)."""

    name: str
    id_number: str


@dataclass
class ConsentCode:
    """A code WeChat's consent page handed back for one openid."""

    openid: str
    minted_at: float
    used: bool = False


class RealNames:
    """WeChat users' real-name records and the consent codes of the check; thread-safe."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._records: dict[str, RealNameRecord] = {}
        self._codes: dict[str, ConsentCode] = {}

    def clear(self) -> None:
        """Forget every record and code."""
        with self._lock:
            self._records.clear()
            self._codes.clear()

    def set_record(self, openid: str, name: str, id_number: str) -> None:
        """The user's real name and resident ID number, as WeChat holds them."""
        with self._lock:
            self._records[openid] = RealNameRecord(name, id_number)

    def mint_code(self, openid: str) -> str:
        """A fresh consent code for openid."""
        with self._lock:
            code = secrets.token_urlsafe(48)
            self._codes[code] = ConsentCode(openid, self._clock())
            return code

    def check(self, openid: str, real_name: str, cred_id: str, code: str) -> tuple[str, str]:
        """(verify_openid, verify_real_name) for a good code, which is then used up."""
        with self._lock:
            consent = self._codes.get(code)
            if (consent is None or consent.used or consent.openid != openid
                    or self._clock() >= consent.minted_at + CODE_TTL_SECONDS):
                raise WeChatError(INVALID_CODE)
            consent.used = True
            record = self._records.get(openid)
        if record is None:
            return NOT_REAL_NAMED, ""
        if real_name != record.name:
            return NAME_DIFFERS, ""
        same_number = cred_id.upper() == record.id_number.upper()
        return NAME_MATCHES, ID_MATCHES if same_number else ID_DIFFERS


def install_real_names(app: Flask, state: WeChatState) -> RealNames:
    """Give a stub app real names: state that `state.reset()` clears, and the routes."""
    records = app.extensions[REAL_NAMES_KEY] = RealNames(state.now)
    state.on_reset(records.clear)
    app.register_blueprint(real_name_api)
    return records


def real_names(app: Flask | None = None) -> RealNames:
    """The real-name state behind a stub app (the current app by default)."""
    return (app or current_app).extensions[REAL_NAMES_KEY]


def preset_demo_people(app: Flask) -> int:
    """Give the demo people of `flask seed-demo` their WeChat real names; how many."""
    # The same generator the seed uses, so the numbers agree without a file of them anywhere.
    from app.seed.identity import demo_real_names

    people = demo_real_names()
    for openid, name, id_number in people:
        real_names(app).set_record(openid, name, id_number)
    return len(people)


# --- the WeChat API -----------------------------------------------------------------------


def _body_text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise WeChatError(47001)
    return value


@real_name_api.post("/intp/realname/checkrealnameinfo")
@wechat_endpoint
def check_real_name_info(state: WeChatState) -> dict[str, Any]:
    """checkrealnameinfo: whether a name and ID number are the user's WeChat real name."""
    state.check_token(request.args.get("access_token", ""))
    body = _json_object()
    openid, real_name, cred_id, code = (
        _body_text(body, name) for name in ("openid", "real_name", "cred_id", "code"))
    if body.get("cred_type") != "1":
        raise WeChatError(47001)
    verify_openid, verify_real_name = real_names().check(openid, real_name, cred_id, code)
    return {"errcode": 0, "errmsg": "ok", "verify_openid": verify_openid,
            "verify_real_name": verify_real_name}


# --- test-only controls -------------------------------------------------------------------


@real_name_api.put("/_stub/real-names")
def set_real_name() -> Response:
    """Set a WeChat user's real-name record."""
    body = _control_body()
    openid = _field(body, "openid", str)
    real_names().set_record(openid, _field(body, "name", str), _field(body, "id_number", str))
    return jsonify(openid=openid, real_named=True)


@real_name_api.post("/_stub/real-name-codes")
def mint_real_name_code() -> tuple[Response, int]:
    """Mint the consent code WeChat hands back when the user agrees to the check."""
    openid = _field(_control_body(), "openid", str)
    return jsonify(code=real_names().mint_code(openid), openid=openid), 201
