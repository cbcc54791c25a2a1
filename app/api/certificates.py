"""The holder's e-certificates: list, detail, presentations (亮证) and access log."""

from __future__ import annotations

import marshmallow as ma
from flask_jwt_extended import current_user

from app.api.docs import ErrorSchema
from app.api.permissions import user_required
from app.api.request_bodies import Blueprint
from app.api.schemas import LocalDateTime, PageQuerySchema, PageSchema, RequestSchema
from app.certificates.holdings import (
    access_log,
    certificate_for,
    certificates_of,
    detail,
    log_access,
    summary,
)
from app.certificates.presenting import DERIVED_CLAIMS, present
from app.extensions import db
from app.models.certificate import ACCESS_ACTIONS, STATUSES
from app.platform.pages import Page

blp = Blueprint("certificates", __name__, url_prefix="/api/v1/me/certificates",
                description="E-certificates of the caller and their enterprises")


class CertificateTypeRefSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    issuer = ma.fields.String()


class CertificateSummarySchema(ma.Schema):
    id = ma.fields.String()
    identifier = ma.fields.String(metadata={"description": "GB/T 36904 e-certificate identifier"})
    type = ma.fields.Nested(CertificateTypeRefSchema)
    holder_kind = ma.fields.String()
    holder_masked = ma.fields.String()
    number_masked = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(STATUSES)})
    issued_at = LocalDateTime()
    expires_at = LocalDateTime(allow_none=True)


class CertificateListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CertificateSummarySchema))


class CertificateFieldSchema(ma.Schema):
    name = ma.fields.String()
    label = ma.fields.String()
    value = ma.fields.Raw()
    sensitive = ma.fields.Boolean(metadata={"description": "value shown masked"})


class CertificateDetailSchema(CertificateSummarySchema):
    fields = ma.fields.List(ma.fields.Nested(CertificateFieldSchema))
    revoked_reason = ma.fields.String(allow_none=True)


class PresentationRequestSchema(RequestSchema):
    fields = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=48)),
                            load_default=None, allow_none=True,
                            validate=ma.validate.Length(max=30),
                            metadata={"description": "fields to disclose; null: the type's"
                                                     " display fields"})
    derived = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(DERIVED_CLAIMS)),
                             load_default=list, validate=ma.validate.Length(max=2),
                             metadata={"description": "age_over_18 / age_over_60 instead of"
                                                      " the birth date"})
    purpose = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64),
                               metadata={"example": "酒店入住登记"})
    qr = ma.fields.Boolean(load_default=True,
                           metadata={"description": "false: the token alone, qr_svg null, for"
                                                    " clients that draw the QR code themselves"})


class PresentationSchema(ma.Schema):
    token = ma.fields.String(metadata={"description": "compact JWS (EdDSA), 60 s, one-time"})
    qr_svg = ma.fields.String(allow_none=True,
                              metadata={"description": "the token as a QR code (error correction"
                                                       " Q, 4-module quiet zone), one inline SVG"
                                                       " element; null when qr is false"})
    expires_at = LocalDateTime()
    fields = ma.fields.List(ma.fields.String())
    derived = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Boolean())


class AccessEntrySchema(ma.Schema):
    action = ma.fields.String(metadata={"enum": list(ACCESS_ACTIONS)})
    actor_kind = ma.fields.String()
    institution = ma.fields.String()
    purpose = ma.fields.String()
    outcome = ma.fields.String()
    at = LocalDateTime()


class AccessLogSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(AccessEntrySchema))


@blp.get("")
@user_required
@blp.response(200, CertificateListSchema)
def get_certificates() -> dict:
    """The caller's certificates, then those of enterprises they may see certificates of."""
    return {"items": [summary(c) for c in certificates_of(current_user)]}


@blp.get("/<id:certificate_id>")
@user_required
@blp.response(200, CertificateDetailSchema)
def get_certificate(certificate_id: int) -> dict:
    """One certificate with its fields, sensitive ones masked; the view is logged."""
    certificate = certificate_for(current_user, certificate_id)
    log_access(certificate, "view", actor_kind="holder", actor_id=current_user.id)
    db.session.commit()
    return detail(certificate)


@blp.post("/<id:certificate_id>/presentations")
@user_required
@blp.arguments(PresentationRequestSchema())
@blp.response(201, PresentationSchema)
@blp.alt_response(409, schema=ErrorSchema,
                  description="the certificate is revoked or expired and cannot be presented")
def post_presentation(body: dict, certificate_id: int) -> dict:
    """Show the certificate: a signed token and its QR, valid 60 s, usable once."""
    certificate = certificate_for(current_user, certificate_id)
    shown = present(current_user, certificate, body["fields"], body["derived"], body["purpose"],
                    with_qr=body["qr"])
    db.session.commit()
    return shown


@blp.get("/<id:certificate_id>/access-log")
@user_required
@blp.arguments(PageQuerySchema(), location="query")
@blp.response(200, AccessLogSchema)
def get_access_log(query: dict, certificate_id: int) -> Page:
    """Who viewed, was shown or verified the certificate, when, and for what."""
    certificate = certificate_for(current_user, certificate_id)
    return access_log(certificate, query["page"], query["per_page"])
