"""Verifying presented certificates (online), and the keys to verify them offline."""

from __future__ import annotations

import marshmallow as ma
from flask_jwt_extended import current_user

from app.api.certificates import CertificateTypeRefSchema
from app.api.permissions import roles_required
from app.api.request_bodies import Blueprint
from app.api.schemas import LocalDateTime, RequestSchema
from app.certificates.presenting import verify
from app.certificates.signing import jwks_document
from app.extensions import db

blp = Blueprint("verifications", __name__, url_prefix="/api/v1/verifications",
                description="Checking a presented e-certificate")
jwks_blp = Blueprint("jwks", __name__, url_prefix="/.well-known",
                     description="Public keys of presentation tokens")


class VerificationRequestSchema(RequestSchema):
    # Any string is accepted here: a token that is not even a JWS is answered valid:false,
    # malformed — the same way a verifier app reports a bad scan.
    token = ma.fields.Raw(required=True)
    purpose = ma.fields.String(load_default="", validate=ma.validate.Length(max=64))


class VerificationSchema(ma.Schema):
    valid = ma.fields.Boolean()
    reason = ma.fields.String(allow_none=True, metadata={
        "description": "expired, not_yet_valid, bad_signature, unknown_key, replayed, revoked,"
                       " malformed"})
    certificate_type = ma.fields.Nested(CertificateTypeRefSchema)
    disclosed = ma.fields.Dict(metadata={"description": "only what the holder chose to show"})
    holder_masked = ma.fields.String()
    issued_at = LocalDateTime()
    expires_at = LocalDateTime(allow_none=True)
    purpose = ma.fields.String()


class JwkSchema(ma.Schema):
    """A public key (RFC 8037: an Ed25519 key as a JWK)."""

    kty = ma.fields.String(metadata={"example": "OKP"})
    crv = ma.fields.String(metadata={"example": "Ed25519"})
    x = ma.fields.String(metadata={"description": "the public key, base64url"})
    kid = ma.fields.String(metadata={"description": "matches the `kid` of a token's header"})
    alg = ma.fields.String(metadata={"example": "EdDSA"})
    use = ma.fields.String(metadata={"example": "sig"})


class JwksSchema(ma.Schema):
    keys = ma.fields.List(ma.fields.Nested(JwkSchema))


@blp.post("")
@roles_required("verifier")
@blp.arguments(VerificationRequestSchema())
@blp.response(200, VerificationSchema)
def post_verification(body: dict) -> dict:
    """Check a scanned token: signature, time, one-time use and the certificate's status now."""
    result = verify(current_user, body["token"], body["purpose"])
    db.session.commit()
    return result


@jwks_blp.get("/jwks.json")
@jwks_blp.response(200, JwksSchema)
def get_jwks() -> tuple[dict, dict[str, str]]:
    """Current and recently rotated public keys (JWK Set), for offline verification."""
    return jwks_document(), {"Cache-Control": "public, max-age=60"}
