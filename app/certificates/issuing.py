"""Certificates issued and revoked by department systems."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.identity.real_name import ID_NUMBER_INDEX
from app.models import Enterprise
from app.models.certificate import Certificate, CertificateType
from app.platform.errors import Conflict, InvalidInput, NotFound
from app.platform.events import emit
from app.platform.orm import parse_row_id, utcnow
from app.privacy.identifiers import (
    InvalidIdentifier,
    make_cert_identifier,
    parse_id_number,
    parse_uscc,
)
from app.privacy.vault import vault

NUMBER_INDEX = "certificate_number"


def find_type(code: str) -> CertificateType:
    kind = db.session.scalar(sa.select(CertificateType).where(CertificateType.code == code))
    if kind is None:
        raise InvalidInput("type", f"未知证照类型：{code}", ["unknown"])
    return kind


def issue(kind: CertificateType, *, holder_id_number: str | None, holder_uscc: str | None,
          number: str, serial: str, fields: dict[str, Any], issued_at: datetime,
          expires_at: datetime | None) -> Certificate:
    """Store a new certificate, encrypted, held by an ID number's blind index or an enterprise."""
    cipher = vault()
    certificate = Certificate(type=kind, issued_at=issued_at, expires_at=expires_at,
                              status="valid")
    if kind.holder_kind == "personal":
        try:
            holder = parse_id_number(holder_id_number or "").number
        except InvalidIdentifier as exc:
            raise InvalidInput("holder.id_number", exc.message) from None
        certificate.holder_id_index = cipher.blind_index(holder, ID_NUMBER_INDEX)
    else:
        try:
            uscc = parse_uscc(holder_uscc or "")
        except InvalidIdentifier as exc:
            raise InvalidInput("holder.uscc", exc.message) from None
        enterprise = db.session.scalar(sa.select(Enterprise).where(Enterprise.uscc == uscc))
        if enterprise is None:
            raise InvalidInput("holder.uscc", "企业不存在", ["unknown"])
        certificate.holder_enterprise_id = enterprise.id
    if expires_at is not None and expires_at <= issued_at:
        raise InvalidInput("expires_at", "有效期止应晚于签发日期", ["too early"])
    unknown = sorted(set(fields) - {f["name"] for f in kind.fields})
    if unknown:
        raise InvalidInput("fields", "证照类型没有这些字段：" + "、".join(unknown), unknown)
    index = cipher.blind_index(f"{kind.code}:{number}", NUMBER_INDEX)
    if db.session.scalar(sa.select(Certificate.id).where(Certificate.type_id == kind.id,
                                                         Certificate.number_index == index)):
        raise Conflict("该证照编号已存在", errors={"number": ["exists"]})
    certificate.identifier = make_cert_identifier(kind.type_code, kind.issuer_uscc, serial)
    certificate.number_enc = cipher.encrypt(number, "certificate.number")
    certificate.number_index = index
    certificate.fields_enc = cipher.encrypt(
        json.dumps({**fields, kind.number_field: number}, ensure_ascii=False),
        "certificate.fields")
    db.session.add(certificate)
    db.session.flush()
    emit("certificate.issued", certificate_id=certificate.id)
    return certificate


def find_certificate(reference: str) -> Certificate:
    """A certificate by its id, or by its identifier (which always has dots in it)."""
    row_id = parse_row_id(reference)
    condition = (Certificate.id == row_id if row_id is not None
                 else Certificate.identifier == reference)
    certificate = db.session.scalar(sa.select(Certificate).where(condition))
    if certificate is None:
        raise NotFound("证照不存在", errors={"id": ["not found"]})
    return certificate


def revoke(certificate: Certificate, reason: str) -> Certificate:
    """Revoke now: presentations already handed out fail, since verification checks status."""
    if certificate.revoked_at is None:
        certificate.status, certificate.revoked_at = "revoked", utcnow()
        certificate.revoked_reason = reason
        emit("certificate.revoked", certificate_id=certificate.id)
    return certificate


def issued_answer(certificate: Certificate) -> dict[str, Any]:
    """What the department system is told of a certificate it issued or revoked (and told
    again, unchanged, when it repeats the event)."""
    return {"id": str(certificate.id), "identifier": certificate.identifier,
            "status": certificate.status_at(utcnow())}
