"""Signing keys: PEM storage, thumbprint kids, JWK/JWKS shape and rotation
(app/certificates/tokens/keys.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.certificates.tokens import (
    SigningKey,
    VerificationFailure,
    generate_signing_key,
    jwk_thumbprint,
    jwks,
    key_from_pem,
    key_to_pem,
    public_key_from_jwk,
    public_keys_by_kid,
    sign_presentation,
    verify_presentation,
)
from app.certificates.tokens.keys import b64url_decode, b64url_encode

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)

# RFC 8037 Appendix A.1-A.3: an Ed25519 key and its RFC 7638 thumbprint.
RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
RFC8037_X = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def create_rfc8037_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(b64url_decode(RFC8037_D))


def pem_of(private_key: object, password: bytes | None = None) -> bytes:
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    return private_key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def test_thumbprint_matches_the_rfc_8037_example():
    assert jwk_thumbprint(create_rfc8037_key().public_key()) == RFC8037_THUMBPRINT


def test_kid_defaults_to_the_start_of_the_thumbprint_and_is_stable_across_pem_round_trips():
    pem = pem_of(create_rfc8037_key())
    first = key_from_pem(pem, created_at=NOW)
    second = key_from_pem(pem, created_at=NOW)
    assert first.kid == second.kid == RFC8037_THUMBPRINT[:16]


def test_public_jwk_has_the_rfc_8037_shape_and_no_private_part():
    key = key_from_pem(pem_of(create_rfc8037_key()), created_at=NOW)
    assert key.public_jwk() == {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X,
                                "kid": key.kid, "alg": "EdDSA", "use": "sig"}


def test_generated_keys_differ_and_carry_their_creation_time():
    first, second = generate_signing_key(now=NOW), generate_signing_key(now=NOW)
    assert first.kid != second.kid
    assert first.created_at == NOW
    assert len(first.kid) == 16


def test_generating_without_a_time_uses_aware_utc_now():
    key = generate_signing_key()
    assert key.created_at.tzinfo is not None


def test_a_naive_creation_time_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        generate_signing_key(now=datetime(2026, 11, 22, 8, 0))


def test_repr_never_shows_the_private_key():
    key = generate_signing_key(now=NOW)
    assert "private_key" not in repr(key)
    assert key.kid in repr(key)


def test_pem_round_trip_keeps_the_key_and_accepts_an_explicit_kid():
    key = generate_signing_key(now=NOW)
    pem = key_to_pem(key)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = key_from_pem(pem, kid="2026-11", created_at=NOW)
    assert loaded == SigningKey("2026-11", key.private_key, NOW)
    assert loaded.public_jwk()["x"] == key.public_jwk()["x"]
    assert key_from_pem(pem.decode("ascii"), created_at=NOW).kid == key.kid


@pytest.mark.parametrize("garbage", [b"", b"not a key", b"-----BEGIN PRIVATE KEY-----\nAAAA\n"
                                     b"-----END PRIVATE KEY-----\n", "秘密".encode(), b"\xff" * 64])
def test_garbage_pem_is_a_value_error_without_the_input_in_it(garbage):
    with pytest.raises(ValueError, match="not a PEM-encoded private key") as caught:
        key_from_pem(garbage)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize("other_key", [
    rsa.generate_private_key(public_exponent=65537, key_size=2048),
    ec.generate_private_key(ec.SECP256R1()),
], ids=["rsa", "p256"])
def test_a_pem_key_of_another_type_is_refused_by_name_without_key_bytes(other_key):
    pem = pem_of(other_key)
    with pytest.raises(ValueError, match="expected an Ed25519 private key") as caught:
        key_from_pem(pem)
    body = pem.decode().splitlines()[1]
    assert body not in str(caught.value)


def test_an_encrypted_pem_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="encrypted"):
        key_from_pem(pem_of(create_rfc8037_key(), password=b"s3cret"))


def test_public_key_from_jwk_reads_our_own_jwk():
    key = generate_signing_key(now=NOW)
    public_key = public_key_from_jwk(key.public_jwk())
    assert public_key.public_bytes_raw() == key.private_key.public_key().public_bytes_raw()


@pytest.mark.parametrize(("change", "message"), [
    ({"kty": "EC"}, "kty"),
    ({"kty": None}, "kty"),
    ({"crv": "Ed448"}, "crv"),
    ({"crv": "X25519"}, "crv"),
    ({"x": RFC8037_X + "="}, "base64url"),
    ({"x": RFC8037_X.replace("_", "/")}, "base64url"),
    ({"x": RFC8037_X[:-1] + "p"}, "base64url"),  # non-canonical last character
    ({"x": b64url_encode(bytes(31))}, "32 bytes"),
    ({"x": b64url_encode(bytes(33))}, "32 bytes"),
    ({"x": 12}, "base64url"),
    ({"d": RFC8037_D}, "private"),
    ({"alg": "ES256"}, "alg"),
    ({"use": "enc"}, "use"),
    ({"kid": ""}, "kid"),
])
def test_public_key_from_jwk_is_strict(change, message):
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": RFC8037_X, **change}
    with pytest.raises(ValueError, match=message):
        public_key_from_jwk(jwk)


def test_public_key_from_jwk_refuses_a_missing_x_and_a_non_object():
    with pytest.raises(ValueError):
        public_key_from_jwk({"kty": "OKP", "crv": "Ed25519"})
    with pytest.raises(ValueError):
        public_key_from_jwk([RFC8037_X])  # type: ignore[arg-type]


def test_jwks_lists_public_keys_under_keys():
    current, previous = generate_signing_key(now=NOW), generate_signing_key(now=NOW)
    document = jwks([current.public_jwk(), previous.public_jwk()])
    assert document == {"keys": [current.public_jwk(), previous.public_jwk()]}
    assert json.loads(json.dumps(document)) == document


def test_jwks_refuses_to_publish_a_private_key_a_duplicate_kid_or_a_key_without_kid():
    key = generate_signing_key(now=NOW)
    with pytest.raises(ValueError, match="private"):
        jwks([{**key.public_jwk(), "d": RFC8037_D}])
    with pytest.raises(ValueError, match="duplicate kid"):
        jwks([key.public_jwk(), key.public_jwk()])
    without_kid = {k: v for k, v in key.public_jwk().items() if k != "kid"}
    with pytest.raises(ValueError, match="kid"):
        jwks([without_kid])


def test_a_token_signed_with_the_previous_key_verifies_while_that_key_is_published():
    previous, current = generate_signing_key(now=NOW), generate_signing_key(now=NOW)
    token = sign_presentation(previous, {"jti": "p-1"}, now=1_000_000)
    during_rotation = public_keys_by_kid([current.public_jwk(), previous.public_jwk()])
    assert verify_presentation(token, during_rotation, now=1_000_000)["jti"] == "p-1"

    after_rotation = public_keys_by_kid([current.public_jwk()])
    with pytest.raises(VerificationFailure) as caught:
        verify_presentation(token, after_rotation, now=1_000_000)
    assert caught.value.reason == "unknown_key"
