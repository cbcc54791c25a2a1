"""亮证: a holder presents a certificate as a signed one-time token; a verifier checks it."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from app.certificates.holdings import field_values, log_access
from app.certificates.qr import qr_svg
from app.certificates.signing import current_signing_key, public_keys
from app.certificates.tokens import (
    PRESENTATION_TTL_SECONDS,
    VerificationFailure,
    sign_presentation,
    verify_presentation,
)
from app.extensions import db
from app.models import AdminAccount, User
from app.models.certificate import Certificate, Presentation
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
            derived: list[str], purpose: str, *, with_qr: bool = True) -> dict[str, Any]:
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
    # Nothing here names the certificate or its holder, and `sub` and `jti` are fresh each
    # time, so two verifiers cannot link their scans; the server keeps which certificate the
    # jti shows.
    claims: dict[str, Any] = {
        "iss": current_app.config["PRESENTATION_ISSUER"],
        "sub": uuid.uuid4().hex, "jti": uuid.uuid4().hex, "purpose": purpose,
        "cert_type": kind.code,
        "fields": {name: values[name] for name in chosen if name in values},
    }
    if derived:
        birth = _birth_date(values, holder) if kind.holder_kind == "personal" else None
        if birth is None:
            raise InvalidInput("derived", "该证照无法证明年龄", derived)
        age = age_on(birth, today_in_china())
        claims["derived"] = {name: age >= DERIVED_CLAIMS[name] for name in derived}
    issued = int(time.time())
    token = sign_presentation(current_signing_key(), claims, now=issued)
    expires_at = datetime.fromtimestamp(issued + PRESENTATION_TTL_SECONDS, UTC)
    db.session.add(Presentation(jti=claims["jti"], certificate_id=certificate.id,
                                issued_at=datetime.fromtimestamp(issued, UTC),
                                expires_at=expires_at))
    log_access(certificate, "present", actor_kind="holder", actor_id=holder.id,
               purpose=purpose, outcome="issued")
    # A client that draws the QR itself asks for the token alone (qr_svg null).
    return {"token": token, "qr_svg": qr_svg(token) if with_qr else None,
            "expires_at": expires_at,
            "fields": sorted(claims["fields"]), "derived": claims.get("derived", {})}


def _checked_claims(token: str) -> dict[str, Any]:
    try:
        return verify_presentation(token, public_keys())
    except VerificationFailure as failure:
        if failure.reason != "unknown_key":
            raise
    # A key rotated in on another host moments ago: look once more before refusing.
    return verify_presentation(token, public_keys(refresh=True))


def _first_use(jti: str) -> bool:
    """Mark the presentation used; False if it was used before."""
    # One conditional UPDATE: the row lock (MySQL) or the write lock (SQLite) lets exactly one
    # of two simultaneous verifications see used_at still NULL, and the row count says which.
    claimed = db.session.execute(
        sa.update(Presentation)
        .where(Presentation.jti == jti, Presentation.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False))
    return claimed.rowcount == 1


def _signed_claims(token: str) -> dict[str, Any]:
    """The payload of a token whose signature verified but whose time did not."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _certificate_shown_by(claims: dict[str, Any]) -> Certificate | None:
    """The certificate the server recorded for the token's jti when it was issued."""
    jti = claims.get("jti")
    if not isinstance(jti, str) or len(jti) > 64:
        return None
    return db.session.scalar(sa.select(Certificate).join(
        Presentation, Presentation.certificate_id == Certificate.id).where(
        Presentation.jti == jti))


def verify(verifier: AdminAccount, token: Any, purpose: str = "") -> dict[str, Any]:
    """Check a presented token now: signature, time, one-time use, the certificate's status."""
    institution = verifier.institution_name or verifier.username
    try:
        claims = _checked_claims(token)
        certificate = _certificate_shown_by(claims)
        if certificate is None or not isinstance(claims.get("fields", {}), dict):
            # Signed by us, but for a jti this server never recorded (or purged long after
            # it expired), or with fields that are not an object.
            raise VerificationFailure("malformed")
    except VerificationFailure as failure:
        audit.record("certificate.verify_failed", actor=verifier, target_type="presentation",
                     details={"reason": failure.reason})
        if failure.reason in ("expired", "not_yet_valid"):
            # Time is checked after the signature, so these claims are ours: tell the holder.
            claims = _signed_claims(token)
            late = _certificate_shown_by(claims)
            if late is not None:
                log_access(late, "verify", actor_kind="verifier", actor_id=verifier.id,
                           institution=institution,
                           purpose=purpose or str(claims.get("purpose", ""))[:64],
                           outcome=failure.reason)
        return {"valid": False, "reason": failure.reason}
    purpose = purpose or str(claims.get("purpose", ""))[:64]
    reason = None
    status = certificate.status_at(utcnow())
    if not _first_use(claims["jti"]):
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

