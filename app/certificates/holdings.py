"""Which certificates a user may reach, and how they are shown: masked, and logged when viewed."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from flask import g, has_request_context

from app.extensions import db
from app.identity.enterprises import enterprises_reachable
from app.models import User
from app.models.certificate import Certificate, CertificateAccess
from app.platform.errors import NotFound
from app.platform.orm import utcnow
from app.platform.pages import Page, paginate
from app.privacy.masking import mask_cert_number, mask_id_number, mask_name
from app.privacy.vault import vault

SENSITIVE_MASKS = {"id_number": mask_id_number, "name": mask_name}


def _reachable_filter(user: User) -> sa.ColumnElement[bool] | None:
    enterprise_ids = [e.id for e in enterprises_reachable(user, "certificates")]
    clauses = []
    if user.id_number_index:
        clauses.append(Certificate.holder_id_index == user.id_number_index)
    if enterprise_ids:
        clauses.append(Certificate.holder_enterprise_id.in_(enterprise_ids))
    return sa.or_(*clauses) if clauses else None


def certificates_of(user: User) -> list[Certificate]:
    """The user's own certificates and those of enterprises they reach for certificates."""
    reachable = _reachable_filter(user)
    if reachable is None:
        return []
    return list(db.session.scalars(sa.select(Certificate).where(reachable).order_by(
        Certificate.holder_enterprise_id.is_not(None), Certificate.type_id, Certificate.id)))


def certificate_for(user: User, certificate_id: int) -> Certificate:
    """One certificate the user reaches; anyone else's answers 404, revealing nothing."""
    reachable = _reachable_filter(user)
    certificate = None
    if reachable is not None:
        certificate = db.session.scalar(sa.select(Certificate).where(
            Certificate.id == certificate_id, reachable))
    if certificate is None:
        raise NotFound("证照不存在", errors={"id": ["not found"]})
    return certificate


def field_values(certificate: Certificate) -> dict[str, Any]:
    return json.loads(vault().decrypt(certificate.fields_enc, "certificate.fields"))


def number_of(certificate: Certificate) -> str:
    return vault().decrypt(certificate.number_enc, "certificate.number")


def mask_value(name: str, value: Any) -> Any:
    """A sensitive value as a screen may show it."""
    if not isinstance(value, str):
        return "***"
    return SENSITIVE_MASKS.get(name, mask_cert_number)(value)


def summary(certificate: Certificate, values: dict[str, Any] | None = None) -> dict[str, Any]:
    """The list view: type, masked holder and number, status and dates."""
    values = field_values(certificate) if values is None else values
    kind = certificate.type
    return {
        "id": str(certificate.id), "identifier": certificate.identifier,
        "type": {"code": kind.code, "name": kind.name, "issuer": kind.issuer},
        "holder_kind": kind.holder_kind,
        "holder_masked": mask_name(values.get("name", "")),
        # The fields carry the number too: no second decryption for the list view.
        "number_masked": mask_cert_number(values.get(kind.number_field)
                                          or number_of(certificate)),
        "status": certificate.status_at(utcnow()),
        "issued_at": certificate.issued_at, "expires_at": certificate.expires_at,
    }


def detail(certificate: Certificate) -> dict[str, Any]:
    """Every field with its label; sensitive ones masked."""
    values = field_values(certificate)
    fields = []
    for spec in certificate.type.fields:
        if spec["name"] not in values:
            continue
        value = values[spec["name"]]
        shown = mask_value(spec["name"], value) if spec.get("sensitive") else value
        fields.append({"name": spec["name"], "label": spec["label"], "value": shown,
                       "sensitive": bool(spec.get("sensitive"))})
    return {**summary(certificate, values), "fields": fields,
            "revoked_reason": certificate.revoked_reason}


def log_access(certificate: Certificate, action: str, *, actor_kind: str,
               actor_id: int | None, institution: str = "", purpose: str = "",
               outcome: str = "") -> None:
    """Append to the certificate's access log, in the current transaction."""
    db.session.add(CertificateAccess(
        certificate_id=certificate.id, action=action, actor_kind=actor_kind, actor_id=actor_id,
        institution=institution, purpose=purpose[:64], outcome=outcome,
        request_id=(g.get("request_id") or "") if has_request_context() else ""))


def access_log(certificate: Certificate, page: int, per_page: int) -> Page:
    """The certificate's access log, newest first."""
    return paginate(sa.select(CertificateAccess)
                    .where(CertificateAccess.certificate_id == certificate.id)
                    .order_by(CertificateAccess.id.desc()), page=page, per_page=per_page)
