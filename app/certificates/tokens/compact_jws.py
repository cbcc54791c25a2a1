"""Presentation tokens: compact JWS (EdDSA over Ed25519) that live 60 s, signed and verified.

Verification is strict and total: whatever it is given, it returns the claims or raises
VerificationFailure with one of REASONS. One-time use (`replayed`) and revocation (`revoked`)
are the app's checks, made after this one: a token names no certificate, so the app looks up
the certificate it recorded for the returned `jti` when it signed the token (a `jti` it has no
record of is `malformed` too).

Failure reasons, in the order checked:
- `malformed`: not a str, longer than MAX_TOKEN_LENGTH (refused before any decoding), not three
  unpadded base64url segments, a header that is not a small JSON object, a `crit` header, a `typ`
  other than "vp+jwt", a missing or non-string `kid`, a non-canonical signature encoding, or, once
  the signature holds, a payload without integer `iat`/`exp` and string `jti` or claiming a life
  longer than PRESENTATION_TTL_SECONDS.
- `bad_signature`: any `alg` but "EdDSA" (so "none", HS256 keyed with our public key and ES256
  all land here, before a key is even looked up), a signature that is not 64 bytes, or one that
  does not verify.
- `unknown_key`: a `kid` not in the caller's map (rotated out, or never ours).
- `not_yet_valid` / `expired`: outside [iat - MAX_CLOCK_SKEW_SECONDS, exp + MAX_CLOCK_SKEW_SECONDS].
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
import time
from collections.abc import Mapping
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from app.certificates.tokens.keys import SigningKey, b64url_encode

PRESENTATION_TTL_SECONDS = 60
MAX_CLOCK_SKEW_SECONDS = 30
# The largest text a version-40 QR code holds at error correction Q (byte mode): a longer token
# cannot have come from a QR code, so it is refused before any decoding, and never signed.
MAX_TOKEN_LENGTH = 1663
# Our header is ~75 characters; the cap keeps pre-signature JSON parsing tiny (no nesting bombs).
MAX_HEADER_SEGMENT_LENGTH = 512

ALGORITHM = "EdDSA"
TOKEN_TYPE = "vp+jwt"  # explicit typing (RFC 8725 §3.11): no other JWT passes as a presentation
ED25519_SIGNATURE_BYTES = 64
_SIGNATURE_SEGMENT_LENGTH = 86  # 64 bytes in unpadded base64url
# 86 characters carry 516 bits for 512: only these final characters leave the 4 spare bits zero.
# Refusing the others keeps one signature to one token string.
_CANONICAL_SIGNATURE_ENDINGS = frozenset("AQgw")

Reason = Literal["malformed", "bad_signature", "unknown_key", "expired", "not_yet_valid"]
REASONS: frozenset[str] = frozenset(
    {"malformed", "bad_signature", "unknown_key", "expired", "not_yet_valid"}
)

# Linear: no class contains ".", so the engine never backtracks. Empty signature allowed here so
# that an alg "none" token is reported as bad_signature, like every other foreign alg.
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


class VerificationFailure(Exception):
    """A token that must not be accepted; `.reason` is one of REASONS, `.detail` is for logs."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown verification failure reason: {reason!r}")
        super().__init__(reason, detail)
        self.reason: Reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}" if self.detail else self.reason


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        # Parsers disagree on which duplicate wins; a verifier must not guess (RFC 7515 §5.2).
        raise ValueError("duplicate member name")
    return obj


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses to inf, which json.dumps cannot write back
        raise ValueError("number out of range")
    return value


_STRICT_JSON = json.JSONDecoder(
    object_pairs_hook=_object_without_duplicates,
    parse_constant=_refuse_constant,
    parse_float=_finite_float,
)
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _decode_json_object(segment: str, part: str) -> dict[str, Any]:
    """Decode a base64url segment holding a UTF-8 JSON object, or raise `malformed`."""
    try:
        # Only the alphabet reaches here (checked by _COMPACT_JWS); a length of 4n+1 raises.
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = _STRICT_JSON.decode(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        # ValueError covers bad base64, non-UTF-8, bad JSON, duplicates, NaN, over-long integers.
        raise VerificationFailure("malformed", f"{part} is not a JSON object") from None
    if type(value) is not dict:
        raise VerificationFailure("malformed", f"{part} is not a JSON object")
    return value


@functools.lru_cache(maxsize=64)
def _header_segment(kid: str) -> str:
    header = {"alg": ALGORITHM, "kid": kid, "typ": TOKEN_TYPE}
    return b64url_encode(_COMPACT_JSON.encode(header).encode("utf-8"))


def sign_presentation(key: SigningKey, claims: dict[str, Any], now: int | None = None) -> str:
    """Sign claims (which must hold the caller's one-time `jti`) as a compact JWS.

    `iat` defaults to now and `exp` to iat + PRESENTATION_TTL_SECONDS; a longer life, or a token
    longer than MAX_TOKEN_LENGTH (it would not fit a QR code), raises ValueError.
    """
    if not isinstance(claims, dict):
        raise TypeError("claims must be a dict")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise ValueError("claims need a non-empty string jti (the one-time id the app tracks)")
    payload = dict(claims)
    if "iat" not in payload:
        payload["iat"] = int(time.time()) if now is None else now
    issued_at = payload["iat"]
    if type(issued_at) is not int:
        raise ValueError("iat must be an integer (seconds since the epoch)")
    if "exp" not in payload:
        payload["exp"] = issued_at + PRESENTATION_TTL_SECONDS
    expires_at = payload["exp"]
    if type(expires_at) is not int or not 0 <= expires_at - issued_at <= PRESENTATION_TTL_SECONDS:
        raise ValueError(f"exp must be an integer within {PRESENTATION_TTL_SECONDS} s after iat")

    payload_segment = b64url_encode(_COMPACT_JSON.encode(payload).encode("utf-8"))
    signing_input = _header_segment(key.kid) + "." + payload_segment
    signature = key.private_key.sign(signing_input.encode("ascii"))
    token = signing_input + "." + b64url_encode(signature)
    if len(token) > MAX_TOKEN_LENGTH:
        raise ValueError(
            f"token of {len(token)} characters exceeds {MAX_TOKEN_LENGTH}; disclose fewer fields"
        )
    return token


def _verified_signing_input(token: str, public_keys: Mapping[str, Ed25519PublicKey]) -> str:
    """Check structure, header and signature; return the payload segment."""
    if not isinstance(token, str):
        raise VerificationFailure("malformed", f"token is {type(token).__name__}, not str")
    if len(token) > MAX_TOKEN_LENGTH:
        raise VerificationFailure("malformed", f"token longer than {MAX_TOKEN_LENGTH} characters")
    if _COMPACT_JWS.fullmatch(token) is None:
        raise VerificationFailure("malformed", "not three unpadded base64url segments")
    header_segment, payload_segment, signature_segment = token.split(".")
    if len(header_segment) > MAX_HEADER_SEGMENT_LENGTH:
        raise VerificationFailure("malformed", "header too long")

    header = _decode_json_object(header_segment, "header")
    # Compared before anything else is trusted: the alg never chooses how we verify.
    if header.get("alg") != ALGORITHM:
        raise VerificationFailure("bad_signature", f"alg must be {ALGORITHM}")
    if "crit" in header:
        raise VerificationFailure("malformed", "crit header parameters are not supported")
    if header.get("typ") != TOKEN_TYPE:
        raise VerificationFailure("malformed", f"typ must be {TOKEN_TYPE}")
    kid = header.get("kid")
    if type(kid) is not str:
        raise VerificationFailure("malformed", "kid must be a string")
    public_key = public_keys.get(kid)
    if public_key is None:
        raise VerificationFailure("unknown_key", "no key with this kid")

    if len(signature_segment) != _SIGNATURE_SEGMENT_LENGTH:
        raise VerificationFailure("bad_signature", "signature is not 64 bytes")
    if signature_segment[-1] not in _CANONICAL_SIGNATURE_ENDINGS:
        raise VerificationFailure("malformed", "non-canonical signature encoding")
    signature = base64.urlsafe_b64decode(signature_segment + "==")
    signing_input = token[: len(header_segment) + 1 + len(payload_segment)]
    try:
        public_key.verify(signature, signing_input.encode("ascii"))
    except InvalidSignature:
        raise VerificationFailure("bad_signature", "signature does not verify") from None
    return payload_segment


def verify_presentation(
    token: str, public_keys: Mapping[str, Ed25519PublicKey], now: int | None = None
) -> dict[str, Any]:
    """The claims of a valid token, else VerificationFailure (never another exception).

    `public_keys` maps kid → key object, built once by the caller (keys.public_keys_by_kid).
    """
    payload_segment = _verified_signing_input(token, public_keys)
    claims = _decode_json_object(payload_segment, "payload")
    issued_at = claims.get("iat")
    expires_at = claims.get("exp")
    jti = claims.get("jti")
    # type() rather than isinstance(): JSON true is a bool, and bool is an int.
    if type(issued_at) is not int or type(expires_at) is not int:
        raise VerificationFailure("malformed", "iat and exp must be integers")
    if type(jti) is not str or not jti:
        raise VerificationFailure("malformed", "jti must be a non-empty string")
    if not 0 <= expires_at - issued_at <= PRESENTATION_TTL_SECONDS:
        raise VerificationFailure("malformed", "lifetime outside 0..PRESENTATION_TTL_SECONDS")

    if now is None:
        now = int(time.time())
    if now < issued_at - MAX_CLOCK_SKEW_SECONDS:
        raise VerificationFailure("not_yet_valid", "issued in the future")
    if now > expires_at + MAX_CLOCK_SKEW_SECONDS:
        raise VerificationFailure("expired", "expired")
    return claims
