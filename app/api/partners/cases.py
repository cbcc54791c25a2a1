"""Department systems report case progress (HMAC-signed, idempotent by event id)."""

from __future__ import annotations

import marshmallow as ma
from flask import g

from app.api.docs import ErrorSchema
from app.api.partners.certificates import EVENT_ID
from app.api.partners.signing import department_signed
from app.api.request_bodies import Blueprint
from app.api.schemas import RequestSchema
from app.cases.lifecycle import DEPARTMENT_STATUSES
from app.cases.progress import department_event
from app.extensions import db

blp = Blueprint("case_integrations", __name__, url_prefix="/api/v1/integrations",
                description="Department systems report case progress (HMAC-SHA256 signed)")


class CaseEventSchema(RequestSchema):
    event_id = EVENT_ID
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(DEPARTMENT_STATUSES),
                              metadata={"example": "accepted"})
    node = ma.fields.String(validate=ma.validate.Length(min=1, max=64),
                            metadata={"description": "the node's name on the timeline",
                                      "example": "受理"})
    note = ma.fields.String(load_default="", validate=ma.validate.Length(max=500))
    department = ma.fields.String(validate=ma.validate.Length(max=128),
                                  metadata={"description": "the handling department, if not"
                                                           " the item's"})
    at = ma.fields.AwareDateTime(required=True, metadata={
        "description": "when it happened; events arriving out of order are placed by it"})


class NodeRefSchema(ma.Schema):
    name = ma.fields.String()
    status = ma.fields.String()
    at = ma.fields.String()


class CaseEventAnswerSchema(ma.Schema):
    case_no = ma.fields.String()
    status = ma.fields.String(metadata={"description": "the case's status after the event"})
    node = ma.fields.Nested(NodeRefSchema)
    nodes = ma.fields.Integer(metadata={"description": "nodes on the timeline"})


@blp.post("/cases/<case_no:case_no>/events")
@department_signed
@blp.arguments(CaseEventSchema())
@blp.response(200, CaseEventAnswerSchema)
@blp.alt_response(404, schema=ErrorSchema, description="no such case")
@blp.alt_response(409, schema=ErrorSchema,
                  description="the move breaks the state machine (`illegal_transition`, naming"
                              " it), or the event id was used for another operation")
def post_case_event(body: dict, case_no: str) -> tuple[dict, int]:
    """Move a case: placed on its timeline by `at`; a repeated event id changes nothing."""
    status, answer = department_event(g.department_key_id, case_no, body)
    db.session.commit()
    return answer, status
