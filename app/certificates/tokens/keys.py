"""Ed25519 signing keys for presentation tokens: generation, PEM storage, JWK and JWKS."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

# A kid is a lookup hint, not a security property (the signature is): 16 base64url characters
# (96 bits) of the RFC 7638 thumbprint never collide by accident and keep the QR code small.
KID_LENGTH = 16

ED25519_PUBLIC_KEY_BYTES = 32
_B64URL_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
# Members a public JWK must never carry: the private part of an OKP or any other key type.
_PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "k"})


def b64url_encode(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict unpadded base64url; ValueError otherwise, including on non-canonical bits."""
    # The alphabet check also refuses "+" and "/", which b64decode(altchars=...) would let through.
    if not isinstance(text, str) or not _B64URL_ALPHABET.issuperset(text):
        raise ValueError("not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise ValueError("not unpadded base64url") from None
    # A trailing character with unused bits set decodes to the same bytes: refuse the alias.
    if b64url_encode(data) != text:
        raise ValueError("not canonical base64url")
    return data


def jwk_thumbprint(public_key: Ed25519PublicKey) -> str:
    """Full RFC 7638 SHA-256 thumbprint of an Ed25519 public key, base64url (43 characters)."""
    x = b64url_encode(public_key.public_bytes_raw())
    # RFC 7638 §3.2: the required members only, in lexicographic order, no whitespace.
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"))
    return b64url_encode(hashlib.sha256(canonical.encode("ascii")).digest())


def default_kid(public_key: Ed25519PublicKey) -> str:
    """The kid this module gives a key: the first KID_LENGTH characters of its thumbprint."""
    return jwk_thumbprint(public_key)[:KID_LENGTH]


@dataclass(frozen=True)
class SigningKey:
    """A private signing key with its kid and creation time (for rotation)."""

    kid: str
    private_key: Ed25519PrivateKey = field(repr=False, compare=False)
    created_at: datetime

    def public_key(self) -> Ed25519PublicKey:
        """The public half, as verify_presentation wants it."""
        return self.private_key.public_key()

    def public_jwk(self) -> dict[str, str]:
        """The public key as a JWK (RFC 8037) for the JWKS endpoint."""
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": b64url_encode(self.private_key.public_key().public_bytes_raw()),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        }


def _utc_now_or(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        # A naive time means different instants on different servers; rotation compares them.
        raise ValueError("created_at must be timezone-aware")
    return now


def generate_signing_key(now: datetime | None = None) -> SigningKey:
    """A fresh Ed25519 key whose kid is its thumbprint."""
    private_key = Ed25519PrivateKey.generate()
    return SigningKey(default_kid(private_key.public_key()), private_key, _utc_now_or(now))


def key_to_pem(key: SigningKey) -> bytes:
    """The private key as unencrypted PKCS#8 PEM (store it as a secret)."""
    return key.private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def key_from_pem(
    pem: bytes | str, kid: str | None = None, created_at: datetime | None = None
) -> SigningKey:
    """Load an unencrypted PKCS#8 PEM Ed25519 key; ValueError (without key material) otherwise."""
    if isinstance(pem, str):
        pem = pem.encode("utf-8", "replace")
    if not isinstance(pem, bytes):
        raise ValueError("PEM must be bytes or str")
    try:
        private_key = serialization.load_pem_private_key(pem, password=None)
    except TypeError:
        raise ValueError("the PEM key is encrypted; expected an unencrypted PKCS#8 key") from None
    except (ValueError, UnsupportedAlgorithm):
        # `from None`: the underlying message may quote parts of the input.
        raise ValueError("not a PEM-encoded private key") from None
    if not isinstance(private_key, Ed25519PrivateKey):
        raise ValueError(f"expected an Ed25519 private key, got {type(private_key).__name__}")
    if kid is None:
        kid = default_kid(private_key.public_key())
    elif not isinstance(kid, str) or not kid:
        raise ValueError("kid must be a non-empty string")
    return SigningKey(kid, private_key, _utc_now_or(created_at))


def public_key_from_jwk(jwk: dict[str, Any]) -> Ed25519PublicKey:
    """Strictly parse a public Ed25519 JWK; ValueError on any other key or on private members."""
    if not isinstance(jwk, dict):
        raise ValueError("a JWK must be a JSON object")
    if jwk.get("kty") != "OKP":
        raise ValueError("JWK kty must be 'OKP'")
    if jwk.get("crv") != "Ed25519":
        raise ValueError("JWK crv must be 'Ed25519'")
    if _PRIVATE_JWK_MEMBERS.intersection(jwk):
        raise ValueError("a public JWK must not carry private key members")
    if "alg" in jwk and jwk["alg"] != "EdDSA":
        raise ValueError("JWK alg, when present, must be 'EdDSA'")
    if "use" in jwk and jwk["use"] != "sig":
        raise ValueError("JWK use, when present, must be 'sig'")
    if "kid" in jwk and (not isinstance(jwk["kid"], str) or not jwk["kid"]):
        raise ValueError("JWK kid, when present, must be a non-empty string")
    try:
        x = b64url_decode(jwk.get("x"))  # type: ignore[arg-type]
    except ValueError:
        raise ValueError("JWK x must be unpadded base64url") from None
    if len(x) != ED25519_PUBLIC_KEY_BYTES:
        raise ValueError(f"JWK x must be {ED25519_PUBLIC_KEY_BYTES} bytes, got {len(x)}")
    return Ed25519PublicKey.from_public_bytes(x)


def jwks(public_jwks: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A JWKS document; each key is checked to be public Ed25519 with a unique kid."""
    keys: list[dict[str, Any]] = []
    seen_kids: set[str] = set()
    for jwk in public_jwks:
        public_key_from_jwk(jwk)
        kid = jwk.get("kid")
        if not isinstance(kid, str):
            raise ValueError("every published JWK needs a kid")
        if kid in seen_kids:
            raise ValueError(f"duplicate kid in JWKS: {kid}")
        seen_kids.add(kid)
        keys.append(dict(jwk))
    return {"keys": keys}


def public_keys_by_kid(public_jwks: Iterable[dict[str, Any]]) -> dict[str, Ed25519PublicKey]:
    """The kid → public key map verify_presentation takes, built once from published JWKs."""
    return {jwk["kid"]: public_key_from_jwk(jwk) for jwk in jwks(public_jwks)["keys"]}
