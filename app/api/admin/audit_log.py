"""The audit log, for auditors."""

from __future__ import annotations

import marshmallow as ma

from app.api.permissions import roles_required
from app.api.request_bodies import Blueprint
from app.api.schemas import LocalDateTime, PageQuerySchema, PageSchema
from app.platform.audit import audit_page
from app.platform.pages import Page

blp = Blueprint("audit_log", __name__, url_prefix="/api/v1/admin/audit-log",
                description="Every admin and verifier action")


class AuditQuerySchema(PageQuerySchema):
    action = ma.fields.String(validate=ma.validate.Length(max=64))
    actor = ma.fields.String(validate=ma.validate.Length(max=64))


class AuditEntrySchema(ma.Schema):
    id = ma.fields.String()
    at = LocalDateTime()
    actor_id = ma.fields.String(allow_none=True)
    actor_name = ma.fields.String()
    action = ma.fields.String()
    target_type = ma.fields.String()
    target_id = ma.fields.String()
    details = ma.fields.Dict()
    request_id = ma.fields.String()
    ip_address = ma.fields.String()


class AuditPageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(AuditEntrySchema))


@blp.get("")
@roles_required("auditor")
@blp.arguments(AuditQuerySchema(), location="query")
@blp.response(200, AuditPageSchema)
def get_audit_log(query: dict) -> Page:
    """Audit entries, newest first."""
    return audit_page(page=query["page"], per_page=query["per_page"],
                      action=query.get("action"), actor=query.get("actor"))
