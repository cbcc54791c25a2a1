"""Department systems (部门业务系统) sign their requests with HMAC-SHA256.

The signature covers `METHOD\\nPATH\\nTIMESTAMP\\n` followed by the raw body, keyed by the
department's secret and named by its key id:

    X-Department-Key: <key id>
    X-Timestamp: <unix seconds>
    X-Signature: hex(HMAC-SHA256(secret, message))

A timestamp more than five minutes off is refused, so a captured request cannot be replayed
later; within the window, writes are idempotent by their event id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Mapping

from app.config import ConfigError
from app.platform.app_services import AppService
from app.platform.errors import Unauthenticated

MAX_SKEW_SECONDS = 300
# Headers arrive as Latin-1 text: "²" or full-width digits pass `str.isdigit` but not `int`.
TIMESTAMP_PATTERN = re.compile(r"[0-9]{1,12}")
SIGNATURE_PATTERN = re.compile(r"[0-9a-fA-F]{64}")


def parse_department_keys(text: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for entry in filter(None, (part.strip() for part in text.split(","))):
        key_id, _, secret = entry.partition(":")
        try:
            keys[key_id] = base64.b64decode(secret, validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f"DEPARTMENT_KEYS: the key {key_id!r} is not base64") from None
        if not key_id or len(keys[key_id]) < 16:
            raise ConfigError("DEPARTMENT_KEYS: each key needs an id and 16+ bytes")
    return keys


department_keys: AppService[dict[str, bytes]] = AppService(
    "department_keys", lambda app: parse_department_keys(app.config["DEPARTMENT_KEYS"]))


def signature(secret: bytes, method: str, path: str, timestamp: str, body: bytes) -> str:
    """The hex signature a department sends for a request."""
    message = f"{method.upper()}\n{path}\n{timestamp}\n".encode() + body
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def _refuse(error: str, message: str) -> Unauthenticated:
    return Unauthenticated(message, error=error)


def verify_signature(keys: Mapping[str, bytes], key_id: str, timestamp: str, sent: str,
                     method: str, path: str, body: bytes, now: float | None = None) -> str:
    """The key id of a correctly signed, timely request; `Unauthenticated` saying why otherwise."""
    if not (key_id and timestamp and sent):
        raise _refuse("signature_missing", "缺少部门签名")
    secret = keys.get(key_id)
    if secret is None:
        raise _refuse("unknown_department_key", "未知的部门密钥")
    now = time.time() if now is None else now
    if (TIMESTAMP_PATTERN.fullmatch(timestamp) is None
            or abs(now - int(timestamp)) > MAX_SKEW_SECONDS):
        raise _refuse("timestamp_out_of_range", "请求时间与服务器相差超过 5 分钟")
    expected = signature(secret, method, path, timestamp, body)
    # compare_digest refuses non-ASCII text with a TypeError, so the form is checked first.
    if (SIGNATURE_PATTERN.fullmatch(sent) is None
            or not hmac.compare_digest(expected, sent.lower())):
        raise _refuse("bad_signature", "部门签名不正确")
    return key_id
