"""亮证: a holder presents a certificate as a signed one-time token; a verifier checks it."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.certificates.holdings import field_values, log_access
from app.certificates.qr import qr_svg
from app.certificates.signing import current_signing_key, public_keys
from app.certificates.tokens import (
    MAX_CLOCK_SKEW_SECONDS,
    PRESENTATION_TTL_SECONDS,
    VerificationFailure,
    sign_presentation,
    verify_presentation,
)
from app.extensions import db
from app.models import AdminAccount, User
from app.models.certificate import Certificate, PresentationUse
from app.platform import audit
from app.platform.clock import age_on, today_in_china
from app.platform.errors import Conflict, InvalidInput
from app.platform.orm import utcnow
from app.privacy.masking import mask_name

DERIVED_CLAIMS = {"age_over_18": 18, "age_over_60": 60}


def _birth_date(values: dict[str, Any], holder: User) -> date | None:
    text = values.get("birth_date")
    if isinstance(text, str):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return None
    return holder.birth_date


def present(holder: User, certificate: Certificate, fields: list[str] | None,
            derived: list[str], purpose: str) -> dict[str, Any]:
    """Sign a 60-second, one-time token carrying only the chosen fields and derived claims."""
    status = certificate.status_at(utcnow())
    if status != "valid":
        message = "证照已吊销，不能亮证" if status == "revoked" else "证照已过期，不能亮证"
        raise Conflict(message, error="certificate_not_presentable", errors={"id": [status]})
    kind = certificate.type
    chosen = kind.display_fields if fields is None else list(dict.fromkeys(fields))
    unknown = [name for name in chosen if kind.field(name) is None]
    if unknown:
        raise InvalidInput("fields", "该证照没有这些字段：" + "、".join(unknown), unknown)
    values = field_values(certificate)
    claims: dict[str, Any] = {
        "iss": current_app.config["PRESENTATION_ISSUER"],
        "sub": uuid.uuid4().hex,  # fresh each time: two verifiers cannot link their scans
        "jti": uuid.uuid4().hex, "purpose": purpose,
        "cert_type": kind.code, "cert_id": certificate.identifier,
        "fields": {name: values[name] for name in chosen if name in values},
    }
    if derived:
        birth = _birth_date(values, holder) if kind.holder_kind == "personal" else None
        if birth is None:
            raise InvalidInput("derived", "该证照无法证明年龄", derived)
        age = age_on(birth, today_in_china())
        claims["derived"] = {name: age >= DERIVED_CLAIMS[name] for name in derived}
    token = sign_presentation(current_signing_key(), claims)
    log_access(certificate, "present", actor_kind="holder", actor_id=holder.id,
               purpose=purpose, outcome="issued")
    expires_at = utcnow() + timedelta(seconds=PRESENTATION_TTL_SECONDS)
    return {"token": token, "qr_svg": qr_svg(token), "expires_at": expires_at,
            "fields": sorted(claims["fields"]), "derived": claims.get("derived", {})}


def _checked_claims(token: str) -> dict[str, Any]:
    try:
        return verify_presentation(token, public_keys())
    except VerificationFailure as failure:
        if failure.reason != "unknown_key":
            raise
    # A key rotated in on another host moments ago: look once more before refusing.
    return verify_presentation(token, public_keys(refresh=True))


# One statement that inserts the jti unless it is there: the primary key makes it atomic
# across workers, and the row count tells whether this was the first use.
_RECORD_USE = (sa.insert(PresentationUse)
               .prefix_with("IGNORE", dialect="mysql")
               .prefix_with("IGNORE", dialect="mariadb")
               .prefix_with("OR IGNORE", dialect="sqlite"))


def _first_use(claims: dict[str, Any], certificate: Certificate) -> bool:
    """Record the token's jti; False if it was used before."""
    expires = datetime.fromtimestamp(claims["exp"] + MAX_CLOCK_SKEW_SECONDS, UTC)
    inserted = db.session.execute(_RECORD_USE.values(
        jti=claims["jti"][:64], certificate_id=certificate.id, expires_at=expires,
        used_at=utcnow()))
    return inserted.rowcount == 1


def _signed_claims(token: str) -> dict[str, Any]:
    """The payload of a token whose signature verified but whose time did not."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _certificate_named_by(claims: dict[str, Any]) -> Certificate | None:
    return db.session.scalar(sa.select(Certificate).where(
        Certificate.identifier == str(claims.get("cert_id", ""))[:96]))


def verify(verifier: AdminAccount, token: Any, purpose: str = "") -> dict[str, Any]:
    """Check a presented token now: signature, time, one-time use, the certificate's status."""
    institution = verifier.institution_name or verifier.username
    try:
        claims = _checked_claims(token)
        certificate = _certificate_named_by(claims)
        if certificate is None or not isinstance(claims.get("fields", {}), dict):
            raise VerificationFailure("malformed")
    except VerificationFailure as failure:
        audit.record("certificate.verify_failed", actor=verifier, target_type="presentation",
                     details={"reason": failure.reason})
        if failure.reason in ("expired", "not_yet_valid"):
            # Time is checked after the signature, so these claims are ours: tell the holder.
            claims = _signed_claims(token)
            late = _certificate_named_by(claims)
            if late is not None:
                log_access(late, "verify", actor_kind="verifier", actor_id=verifier.id,
                           institution=institution,
                           purpose=purpose or str(claims.get("purpose", ""))[:64],
                           outcome=failure.reason)
        return {"valid": False, "reason": failure.reason}
    purpose = purpose or str(claims.get("purpose", ""))[:64]
    reason = None
    status = certificate.status_at(utcnow())
    if not _first_use(claims, certificate):
        reason = "replayed"
    elif status != "valid":
        reason = status  # revoked, or expired since it was shown
    log_access(certificate, "verify", actor_kind="verifier", actor_id=verifier.id,
               institution=institution, purpose=purpose, outcome=reason or "valid")
    audit.record("certificate.verified", actor=verifier, target_type="certificate",
                 target_id=certificate.id, details={"outcome": reason or "valid",
                                                    "purpose": purpose})
    if reason:
        return {"valid": False, "reason": reason}
    values = field_values(certificate)
    return {
        "valid": True, "reason": None,
        "certificate_type": {"code": certificate.type.code, "name": certificate.type.name,
                             "issuer": certificate.type.issuer},
        "disclosed": {**claims.get("fields", {}), **claims.get("derived", {})},
        "holder_masked": mask_name(values.get("name", "")),
        "issued_at": certificate.issued_at, "expires_at": certificate.expires_at,
        "purpose": purpose,
    }

