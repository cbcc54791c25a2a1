"""Department systems issue and revoke certificates (HMAC-signed, idempotent by event id)."""

from __future__ import annotations

import uuid

import marshmallow as ma
from flask import g

from app.api.docs import ErrorSchema
from app.api.partners.signing import department_signed
from app.api.request_bodies import Blueprint
from app.api.schemas import RequestSchema
from app.api.validators import ID_NUMBER, USCC
from app.certificates.issuing import find_certificate, find_type, issue, issued_answer, revoke
from app.extensions import db
from app.platform.idempotency import once

blp = Blueprint("integrations", __name__, url_prefix="/api/v1/integrations",
                description="Department systems (HMAC-SHA256 signed)")
EVENT_ID = ma.fields.String(required=True, validate=ma.validate.Regexp(
    r"^[A-Za-z0-9._:-]{1,64}$"), metadata={"description": "repeats return the first answer",
                                           "example": "evt-20260101-0001"})


class HolderSchema(RequestSchema):
    """A person by `id_number` or an enterprise by `uscc`, as the certificate type holds: one
    of the two."""

    # The form only: issuing checks the rest, naming `holder.id_number` / `holder.uscc`.
    id_number = ma.fields.String(load_only=True, validate=ID_NUMBER.form_only())
    uscc = ma.fields.String(validate=USCC.form_only())

    @ma.validates_schema
    def exactly_one(self, data: dict, **kwargs) -> None:
        if bool(data.get("id_number")) == bool(data.get("uscc")):
            raise ma.ValidationError("id_number 与 uscc 须填且只填一项", "id_number")


class IssueSchema(RequestSchema):
    event_id = EVENT_ID
    type = ma.fields.String(required=True, validate=ma.validate.Length(max=48),
                            metadata={"description": "the code of a certificate type",
                                      "example": "driving_licence"})
    holder = ma.fields.Nested(HolderSchema, required=True,
                              metadata={"example": {"id_number": ID_NUMBER.openapi["example"]}})
    number = ma.fields.String(required=True, load_only=True,
                              validate=ma.validate.Length(min=1, max=64),
                              metadata={"example": "DL2026000001"})
    serial = ma.fields.String(validate=ma.validate.Regexp(r"^[0-9]{1,20}$"))
    fields = ma.fields.Dict(keys=ma.fields.String(validate=ma.validate.Length(max=48)),
                            values=ma.fields.Raw(), load_default=dict)
    issued_at = ma.fields.AwareDateTime(required=True)
    expires_at = ma.fields.AwareDateTime(load_default=None, allow_none=True)


class RevokeSchema(RequestSchema):
    event_id = EVENT_ID
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=255),
                              metadata={"example": "证件遗失"})


class IssuedSchema(ma.Schema):
    id = ma.fields.String()
    identifier = ma.fields.String()
    status = ma.fields.String()


@blp.post("/certificates")
@department_signed
@blp.arguments(IssueSchema())
@blp.response(201, IssuedSchema)
@blp.alt_response(409, schema=ErrorSchema,
                  description="the certificate number exists, or the event id was used for"
                              " another operation")
def post_certificate(body: dict) -> tuple[dict, int]:
    """Issue a certificate to a person (by ID number) or an enterprise (by USCC)."""

    def act() -> tuple[int, dict]:
        certificate = issue(
            find_type(body["type"]), holder_id_number=body["holder"].get("id_number"),
            holder_uscc=body["holder"].get("uscc"), number=body["number"],
            serial=body.get("serial") or f"{uuid.uuid4().int % 10**12:012d}",
            fields=body["fields"], issued_at=body["issued_at"], expires_at=body["expires_at"])
        return 201, issued_answer(certificate)

    # A repeated event answers the first answer's status too (201), not a status of its own.
    status, answer = once(g.department_key_id, body["event_id"], "issue", act)
    db.session.commit()
    return answer, status


@blp.post("/certificates/<certificate_ref:certificate_id>/revoke")
@department_signed
@blp.arguments(RevokeSchema())
@blp.response(200, IssuedSchema)
@blp.alt_response(409, schema=ErrorSchema,
                  description="the event id was used for another operation")
def post_revocation(body: dict, certificate_id: str) -> tuple[dict, int]:
    """Revoke a certificate; presentations already handed out stop verifying at once."""

    def act() -> tuple[int, dict]:
        return 200, issued_answer(revoke(find_certificate(certificate_id), body["reason"]))

    status, answer = once(g.department_key_id, body["event_id"], "revoke", act)
    db.session.commit()
    return answer, status
