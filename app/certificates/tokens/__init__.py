"""Presentation tokens (亮证): Ed25519 keys, JWKS and 60-second one-time compact JWS tokens.

Pure: no Flask, database or Redis. The app keeps the signing keys (PEM secrets), publishes
`jwks(...)` at /.well-known/jwks.json, and around verify_presentation checks one-time use of
the returned `jti` (`replayed`) and the certificate's status (`revoked`):

    key = key_from_pem(pem)
    token = sign_presentation(key, {"jti": jti, "sub": ..., "disclosed": {...}})
    svg = qr_svg(token)  # app.certificates.qr draws it
    claims = verify_presentation(token, public_keys_by_kid([key.public_jwk()]))
"""

from app.certificates.tokens.compact_jws import (
    MAX_CLOCK_SKEW_SECONDS,
    MAX_TOKEN_LENGTH,
    PRESENTATION_TTL_SECONDS,
    REASONS,
    VerificationFailure,
    sign_presentation,
    verify_presentation,
)
from app.certificates.tokens.keys import (
    SigningKey,
    generate_signing_key,
    jwk_thumbprint,
    jwks,
    key_from_pem,
    key_to_pem,
    public_key_from_jwk,
    public_keys_by_kid,
)

__all__ = [
    "MAX_CLOCK_SKEW_SECONDS",
    "MAX_TOKEN_LENGTH",
    "PRESENTATION_TTL_SECONDS",
    "REASONS",
    "SigningKey",
    "VerificationFailure",
    "generate_signing_key",
    "jwk_thumbprint",
    "jwks",
    "key_from_pem",
    "key_to_pem",
    "public_key_from_jwk",
    "public_keys_by_kid",
    "sign_presentation",
    "verify_presentation",
]
