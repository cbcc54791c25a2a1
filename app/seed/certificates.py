"""Seeds certificate types and the demo people's and enterprises' certificates.

The data files hold no personal numbers: names, birth dates and ID-based numbers come from
the demo people of `app.seed.identity`, generated like theirs.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from app.certificates.issuing import issue, revoke
from app.extensions import db
from app.models.certificate import Certificate, CertificateType
from app.platform.clock import CHINA_TZ, today_in_china
from app.privacy.identifiers import make_cert_identifier
from app.seed.fake_identifiers import fake_uscc
from app.seed.identity import DEMO_ENTERPRISES, DEMO_PEOPLE, demo_id_number

TYPE_FIELDS = ("type_code", "name", "issuer", "issuer_uscc", "holder_kind", "validity_years",
               "number_field", "fields")
# The day the holdings file was written for; dates move with the day the demo is seeded, so a
# licence "expiring within 30 days" still does when the demo runs months later.
DATA_AS_OF = date(2026, 11, 22)
# Certificates whose number is the holder's ID number (as on the real cards).
NUMBERED_BY_ID = {"id_card", "driving_licence", "social_security_card", "medical_insurance_code"}


def seed_certificate_types(data: dict[str, Any]) -> int:
    existing = {t.code: t for t in db.session.scalars(sa.select(CertificateType))}
    changed = 0
    for row in data["types"]:
        kind = existing.get(row["code"])
        if kind is None:
            db.session.add(CertificateType(code=row["code"],
                                           **{f: row.get(f) for f in TYPE_FIELDS}))
            changed += 1
        elif any(getattr(kind, f) != row.get(f) for f in TYPE_FIELDS):
            for field in TYPE_FIELDS:
                setattr(kind, field, row.get(field))
            changed += 1
    db.session.flush()
    return changed


def _shifted(day: str, shift: timedelta) -> str:
    return (date.fromisoformat(day) + shift).isoformat()


def _moment(day: str | None, next_day: bool = False) -> datetime | None:
    """Midnight in China of a date (of the next day for expiries: valid through that day)."""
    if day is None:
        return None
    moment = datetime.combine(date.fromisoformat(day), time(), CHINA_TZ)
    return moment + timedelta(days=1) if next_day else moment


def _dated(row: dict[str, Any], shift: timedelta) -> dict[str, Any]:
    """The holding with its dates (and field values equal to them) moved by `shift`."""
    dates = {row["issued_at"], row.get("expires_at")} - {None}
    fields = {name: _shifted(value, shift) if value in dates else value
              for name, value in row["fields"].items()}
    return {**row, "fields": fields, "issued_at": _shifted(row["issued_at"], shift),
            "expires_at": row.get("expires_at") and _shifted(row["expires_at"], shift)}


def _holder_facts(holder: dict[str, Any]) -> tuple[dict[str, Any], str | None, str | None]:
    """Fields the holder supplies, their ID number (people) and USCC (enterprises)."""
    if "openid" in holder:
        person = next(p for p in DEMO_PEOPLE if p[0] == holder["openid"])
        _, _, name, _, birth, sequence = person
        facts = {"name": name, "gender": "男" if sequence % 2 else "女",
                 "birth_date": birth.isoformat()}
        return facts, demo_id_number(holder["openid"]), None
    serial, name, region, *_ = next(e for e in DEMO_ENTERPRISES
                                    if e[0] == holder["enterprise_serial"])
    uscc = fake_uscc(region, serial)
    return {"name": name, "uscc": uscc}, None, uscc


def seed_certificates(data: dict[str, Any]) -> int:
    kinds = {t.code: t for t in db.session.scalars(sa.select(CertificateType))}
    existing = set(db.session.scalars(sa.select(Certificate.identifier)))
    shift = today_in_china() - DATA_AS_OF
    changed = 0
    for row in (_dated(row, shift) for row in data["holdings"]):
        kind = kinds[row["type"]]
        identifier = make_cert_identifier(kind.type_code, kind.issuer_uscc, row["serial"])
        if identifier not in existing:
            facts, id_number, uscc = _holder_facts(row["holder"])
            if id_number and kind.code in NUMBERED_BY_ID:
                number = id_number
            elif uscc and kind.code == "business_licence":
                number = uscc
            else:
                number = f"{kind.type_code}{row['serial']}"
            declared = {f["name"] for f in kind.fields}
            issue(kind, holder_id_number=id_number, holder_uscc=uscc, number=number,
                  serial=row["serial"],
                  fields={k: v for k, v in {**facts, **row["fields"]}.items() if k in declared},
                  issued_at=_moment(row["issued_at"]),
                  expires_at=_moment(row.get("expires_at"), next_day=True))
            changed += 1
        if row.get("revoked"):
            certificate = db.session.scalar(sa.select(Certificate).where(
                Certificate.identifier == identifier))
            if certificate.revoked_at is None:
                revoke(certificate, row["revoked"]["reason"])
                changed += 1
    return changed

