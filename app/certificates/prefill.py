"""免提交: which required materials of a service the caller's valid certificates replace."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.catalog.queries import find_item
from app.certificates.holdings import number_of
from app.extensions import db
from app.identity.enterprises import require_enterprise_access
from app.models import User
from app.models.certificate import Certificate
from app.platform.orm import utcnow
from app.privacy.masking import mask_cert_number


def _valid_by_type(condition: sa.ColumnElement[bool]) -> dict[str, Certificate]:
    now = utcnow()
    found: dict[str, Certificate] = {}
    for certificate in db.session.scalars(sa.select(Certificate).where(condition)):
        if certificate.status_at(now) == "valid":
            found.setdefault(certificate.type.code, certificate)
    return found


def prefill(user: User, code: str, enterprise_uscc: str | None = None) -> dict[str, Any]:
    """Each material of the item, and the held certificate that satisfies it, if any."""
    item = find_item(code)
    own = (_valid_by_type(Certificate.holder_id_index == user.id_number_index)
           if user.id_number_index else {})
    company: dict[str, Certificate] = {}
    if enterprise_uscc:
        enterprise = require_enterprise_access(user, enterprise_uscc, "certificates")
        company = _valid_by_type(Certificate.holder_enterprise_id == enterprise.id)
    materials = []
    for material in item.materials:
        held, holder = None, None
        if material.certificate_type in own:
            held, holder = own[material.certificate_type], "self"
        elif material.certificate_type in company:
            held, holder = company[material.certificate_type], "enterprise"
        materials.append({
            "id": material.material_key, "name": material.name, "required": material.required,
            "certificate_type": material.certificate_type, "satisfied": held is not None,
            "holder": holder,
            "certificate": None if held is None else {
                "id": str(held.id), "type": held.type.name,
                "number_masked": mask_cert_number(number_of(held))},
        })
    return {"service_code": item.code, "materials": materials,
            "satisfied": sum(m["satisfied"] for m in materials),
            "still_required": [m["id"] for m in materials if m["required"] and not m["satisfied"]]}
