"""Encryption at rest and blind indexes for personal data.

ID numbers, phone numbers and certificate numbers are stored as AES-GCM tokens that name
the key they were sealed with, so keys can be rotated; a keyed HMAC beside each token allows
exact-match look-ups without decrypting. Responses show only masks (`app.privacy.masking`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
_TAG_BYTES = 16
_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


class DecryptionError(ValueError):
    """A token could not be decrypted: malformed, tampered with, wrong context or unknown key."""


# ---------------------------------------------------------------------------
# Keys


@dataclass(frozen=True)
class KeyRing:
    """Encryption keys by id; the current one seals new data, all of them open old data."""

    current_kid: str
    # repr=False: a KeyRing that ends up in a log or traceback must not print key bytes.
    keys: Mapping[str, bytes] = field(repr=False)

    def __post_init__(self) -> None:
        if self.current_kid not in self.keys:
            raise ValueError(f"current key id {self.current_kid!r} is not in the key ring")
        if any(len(key) != KEY_BYTES for key in self.keys.values()):
            raise ValueError(f"every key must be {KEY_BYTES} bytes")

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Key ids in configuration order, current first."""
        return tuple(self.keys)


def generate_key() -> str:
    """Return a new random 256-bit key, base64-encoded, for configuration."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def decode_key(text: str) -> bytes:
    """Decode a base64 (standard or URL-safe) 256-bit key; errors never echo the key."""
    compact = text.strip()
    # Normalize URL-safe to standard and restore padding that config files often drop.
    standard = compact.replace("-", "+").replace("_", "/")
    standard += "=" * (-len(standard) % 4)
    try:
        key = base64.b64decode(standard.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise ValueError("key is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise ValueError(f"key must be {KEY_BYTES} bytes, got {len(key)}")
    return key


def parse_key_ring(text: str) -> KeyRing:
    """Parse "kid:BASE64KEY,kid:BASE64KEY" (current key first) into a KeyRing."""
    keys: dict[str, bytes] = {}
    entries = [entry.strip() for entry in text.split(",")]
    if not any(entries):
        raise ValueError("key ring is empty: expected 'kid:BASE64KEY[,kid:BASE64KEY...]'")
    for position, entry in enumerate(entries, start=1):
        kid, separator, encoded = entry.partition(":")
        kid = kid.strip()
        if not separator:
            raise ValueError(f"key ring entry {position} is not of the form 'kid:BASE64KEY'")
        if _KEY_ID.fullmatch(kid) is None:
            raise ValueError(f"key ring entry {position}: key id must be 1-32 of A-Z a-z 0-9 _ -")
        if kid in keys:
            raise ValueError(f"key ring entry {position}: key id {kid!r} is repeated")
        try:
            keys[kid] = decode_key(encoded)
        except ValueError as error:
            raise ValueError(f"key ring entry {position} ({kid!r}): {error}") from None
    if len(set(keys.values())) != len(keys):
        raise ValueError("key ring holds the same key under two ids")
    return KeyRing(current_kid=next(iter(keys)), keys=MappingProxyType(keys))


# ---------------------------------------------------------------------------
# Encryption and blind index


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True)


class PersonalDataCipher:
    """Seals personal data with AES-GCM and computes HMAC blind indexes for look-ups."""

    def __init__(self, key_ring: KeyRing, index_key: bytes) -> None:
        # The index key cannot be rotated without recomputing every stored index, so it is
        # kept apart from the encryption keys, which rotate freely.
        if len(index_key) < KEY_BYTES:
            raise ValueError(f"index key must be at least {KEY_BYTES} bytes")
        if any(hmac.compare_digest(index_key, key) for key in key_ring.keys.values()):
            raise ValueError("index key must differ from every encryption key")
        self._key_ring = key_ring
        self._index_key = bytes(index_key)
        self._aead = {kid: AESGCM(key) for kid, key in key_ring.keys.items()}

    def __repr__(self) -> str:
        return f"PersonalDataCipher(current_kid={self._key_ring.current_kid!r})"

    def encrypt(self, plaintext: str, context: str) -> str:
        """Return "kid:base64url(nonce+ciphertext)" sealed under the current key for `context`."""
        _check_label("context", context)
        kid = self._key_ring.current_kid
        # Random 96-bit nonces: safe for far more than 2^32 messages per key would need
        # before rotation is due anyway.
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead[kid].encrypt(nonce, plaintext.encode("utf-8"), context.encode())
        return f"{kid}:{_b64encode(nonce + sealed)}"

    def decrypt(self, token: str, context: str) -> str:
        """Open a token made by encrypt() with the same context, or raise DecryptionError."""
        kid = self.key_id_of(token)
        aead = self._aead.get(kid)
        if aead is None:
            raise DecryptionError(f"unknown key id {kid!r}")
        try:
            raw = _b64decode(token[len(kid) + 1 :])
        except (binascii.Error, UnicodeEncodeError):
            raise DecryptionError("token is not valid base64") from None
        if len(raw) < NONCE_BYTES + _TAG_BYTES:
            raise DecryptionError("token is too short")
        try:
            plaintext = aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode())
        except InvalidTag:
            raise DecryptionError("token was altered, or belongs to another context") from None
        return plaintext.decode("utf-8")

    def key_id_of(self, token: str) -> str:
        """Return the id of the key a token was sealed with."""
        kid, separator, _ = token.partition(":")
        if not separator or _KEY_ID.fullmatch(kid) is None:
            raise DecryptionError("token is not of the form 'kid:data'")
        return kid

    def needs_rotation(self, token: str) -> bool:
        """Tell whether a token was sealed with a key other than the current one."""
        return self.key_id_of(token) != self._key_ring.current_kid

    def reencrypt(self, token: str, context: str) -> str:
        """Return the token re-sealed under the current key (for rotation jobs)."""
        return self.encrypt(self.decrypt(token, context), context)

    def blind_index(self, value: str, kind: str) -> str:
        """Return the 64-hex HMAC-SHA256 index of a value; `kind` separates namespaces."""
        # Callers pass the canonical form (normalize_phone, parse_id_number(...).number);
        # strip/upper only absorbs whitespace and the x/X of ID check characters.
        _check_label("kind", kind)
        message = f"{kind}\x00{value.strip().upper()}".encode()
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()


def _check_label(name: str, label: str) -> None:
    # An empty or NUL-carrying label would let two namespaces share one input.
    if not label or "\x00" in label:
        raise ValueError(f"{name} must be a non-empty string without NUL")
