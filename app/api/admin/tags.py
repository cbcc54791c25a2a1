"""Profile tags for admins: definitions, manual membership (ids or a CSV), and disputes.

`push_admin` writes, every change audit-logged by the domain; `push_approver` and auditors
read. Computed tags (a family per namespace: `region`, `age`, …) are listed and read-only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import marshmallow as ma
from flask import request
from flask_jwt_extended import current_user
from flask_smorest import abort
from flask_smorest.fields import Upload as UploadField

from app.api.docs import ErrorSchema
from app.api.json_body import BODY
from app.api.permissions import roles_required
from app.api.request_bodies import NO_BODY, Blueprint
from app.api.schemas import LocalDateTime, PageQuerySchema, PageSchema, RequestSchema
from app.api.tags import TagDisputeSchema
from app.api.uploads import FORM_PARTS, MULTIPART_ALLOWANCE
from app.api.validators import ROW_ID, TAG_NAME_EXAMPLE, TAG_NAME_PATTERN
from app.extensions import db
from app.models.tag import TAG_KINDS, TagDefinition, TagDispute
from app.platform.errors import InvalidInput
from app.platform.pages import Page
from app.push.tags import (
    MAX_ID_LIST,
    MAX_UPLOAD_BYTES,
    MAX_UPLOAD_ROWS,
    UploadReport,
    add_members,
    add_members_csv,
    create,
    definition,
    definitions,
    edit,
    expiry_of,
    open_disputes,
    remove_members,
    resolve_dispute,
)

blp = Blueprint("tags_admin", __name__, url_prefix="/api/v1/admin",
                description="Profile tags: definitions, manual members, disputes (push_admin;"
                            " push_approver and auditors read)")
READERS = ("push_admin", "push_approver", "auditor")
Str = ma.fields.String
Length = ma.validate.Length
# A CSV of ids in one column and optional dates in another.
EXAMPLE_CSV = "user_id,expires_on\n1,\n"


class TagInSchema(RequestSchema):
    name = Str(required=True, validate=[Length(max=64), ma.validate.Regexp(TAG_NAME_PATTERN)],
               metadata={"description": "namespace:name, outside the computed families'"
                                        " namespaces, without personal numbers",
                         "example": TAG_NAME_EXAMPLE})
    kind = Str(required=True, validate=ma.validate.OneOf(TAG_KINDS), metadata={
        "description": "only `manual` may be created: computed tags are the system's"})
    description = Str(load_default="", validate=Length(max=200),
                      metadata={"example": "家中有新生儿"})
    sensitive = ma.fields.Boolean(load_default=False, metadata={
        "description": "health, social assistance: never shown in a message's `why` or a"
                       " preview's matched tags"})


class TagPatchSchema(RequestSchema):
    description = Str(validate=Length(max=200))
    sensitive = ma.fields.Boolean()
    retired = ma.fields.Boolean(validate=ma.validate.Equal(True), metadata={
        "description": "true: retire the tag; everyone carrying it leaves its audiences"})


class TagSchema(ma.Schema):
    name = Str()
    kind = Str(metadata={"enum": list(TAG_KINDS)})
    description = Str()
    sensitive = ma.fields.Boolean()
    retired_at = LocalDateTime(allow_none=True)
    created_at = LocalDateTime()
    updated_at = LocalDateTime()


class TagListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TagSchema))


class MembersInSchema(RequestSchema):
    user_ids = ma.fields.List(Str(), required=True, validate=Length(min=1, max=MAX_ID_LIST),
                              metadata={"description": "user ids; one that names no user is"
                                                       " reported in `rejected` with its"
                                                       " position (from 1) as `row`",
                                        "example": ["1"]})
    expires_on = ma.fields.Date(metadata={
        "description": "the China day the membership lasts to, inclusive; none: no end"})


class MembersFileSchema(RequestSchema):
    file = UploadField(required=True, metadata={
        "description": f"UTF-8 CSV, at most {MAX_UPLOAD_BYTES // 1024 // 1024} MB and"
                       f" {MAX_UPLOAD_ROWS} rows: `user_id` and optionally `expires_on`"
                       " (YYYY-MM-DD, China day), with or without a header row",
        "example": EXAMPLE_CSV})


class MembersRemoveSchema(RequestSchema):
    user_ids = ma.fields.List(Str(validate=ROW_ID), required=True,
                              validate=Length(min=1, max=MAX_ID_LIST))


class RejectedRowSchema(ma.Schema):
    row = ma.fields.Integer(metadata={"description": "the CSV line, or the id's position"})
    reason = Str()


class MembersReportSchema(ma.Schema):
    added = ma.fields.Integer(metadata={"description": "people who newly carry the tag"})
    rejected = ma.fields.List(ma.fields.Nested(RejectedRowSchema))


class RemovedSchema(ma.Schema):
    removed = ma.fields.Integer()


class DisputeResolveSchema(RequestSchema):
    outcome = Str(required=True, validate=ma.validate.OneOf(("upheld", "removed")), metadata={
        "description": "upheld: the tag stands and counts again; removed: the person no"
                       " longer carries it"})
    note = Str(load_default="", validate=Length(max=500))


class AdminDisputeSchema(TagDisputeSchema):
    user_id = Str()


class DisputePageSchema(PageSchema):
    items = ma.fields.List(ma.fields.Nested(AdminDisputeSchema))


MEMBERS_BODY = {"required": True, "content": {
    "application/json": {"schema": MembersInSchema},
    "multipart/form-data": {"schema": MembersFileSchema}}}


@blp.get("/tags")
@roles_required(*READERS)
@blp.response(200, TagListSchema)
def get_tags() -> dict:
    """Every tag definition: the computed families, then the manual tags."""
    return {"items": definitions()}


@blp.post("/tags")
@roles_required("push_admin")
@blp.arguments(TagInSchema())
@blp.response(201, TagSchema)
@blp.alt_response(409, schema=ErrorSchema, description="a tag of that name exists (`tag_exists`)")
def post_tag(body: dict) -> tuple[TagDefinition, int]:
    """Define a manual tag (422 for a computed one, a reserved namespace or a personal
    number in the name)."""
    tag = create(current_user, **body)
    db.session.commit()
    return tag, 201


@blp.get("/tags/<tag_definition:name>")
@roles_required(*READERS)
@blp.response(200, TagSchema)
def get_tag(name: str) -> TagDefinition:
    """One tag definition."""
    return definition(name)


@blp.patch("/tags/<tag_definition:name>")
@roles_required("push_admin")
@blp.arguments(TagPatchSchema())
@blp.response(200, TagSchema)
@blp.alt_response(409, schema=ErrorSchema,
                  description="a computed tag (`tag_read_only`) or a retired one (`tag_retired`)")
def patch_tag(body: dict, name: str) -> TagDefinition:
    """Edit a manual tag's description or sensitivity, or retire it."""
    tag = edit(current_user, definition(name), body)
    db.session.commit()
    return tag


@blp.post("/tags/<tag_definition:name>/members")
@roles_required("push_admin")
@blp.doc(requestBody=MEMBERS_BODY)
@blp.response(200, MembersReportSchema)
@blp.alt_response(409, schema=ErrorSchema,
                  description="a computed tag (`tag_read_only`) or a retired one (`tag_retired`)")
def post_members(name: str) -> UploadReport:
    """Add people to a manual tag: a JSON list of ids, or a CSV file (multipart, part `file`);
    each row that cannot be added is reported with its number and why."""
    # flask-smorest parses one body kind per route: this one takes two, so it parses here.
    if request.mimetype == "multipart/form-data":
        report = add_members_csv(current_user, name, _csv_file())
    else:
        body = _json_body(MembersInSchema())
        report = add_members(current_user, name, body["user_ids"],
                             _expiry(body.get("expires_on")))
    db.session.commit()
    return report


def _csv_file() -> bytes:
    """The uploaded CSV, read within its own size limit (not MAX_CONTENT_LENGTH)."""
    request.max_content_length = MAX_UPLOAD_BYTES + MULTIPART_ALLOWANCE
    # werkzeug counts its 64 KiB read buffer, and the line break it holds back, against this.
    request.max_form_memory_size = 2 * MULTIPART_ALLOWANCE
    request.max_form_parts = FORM_PARTS
    files = blp.ARGUMENTS_PARSER.parse(MembersFileSchema(), request, location="files")
    return files["file"].read(MAX_UPLOAD_BYTES + 1)


def _json_body(schema: ma.Schema) -> dict[str, Any]:
    """The JSON body loaded by `schema`, required as on every other route."""
    if not blp.ARGUMENTS_PARSER.has_body(request):
        abort(422, errors={BODY: [NO_BODY]})
    return blp.ARGUMENTS_PARSER.parse(schema, request, location="json")


def _expiry(day: date | None) -> datetime | None:
    """The end of that China day; a day already past is refused naming `expires_on`."""
    if day is None:
        return None
    at = expiry_of(day.isoformat())
    if isinstance(at, str):
        raise InvalidInput("expires_on", at)
    return at


@blp.post("/tags/<tag_definition:name>/members/remove")
@roles_required("push_admin")
@blp.arguments(MembersRemoveSchema())
@blp.response(200, RemovedSchema)
@blp.alt_response(409, schema=ErrorSchema,
                  description="a computed tag (`tag_read_only`) or a retired one (`tag_retired`)")
def post_members_remove(body: dict, name: str) -> dict:
    """Take a manual tag from people (ids that do not carry it are skipped)."""
    removed = remove_members(current_user, name, [int(i) for i in body["user_ids"]])
    db.session.commit()
    return {"removed": removed}


@blp.get("/tag-disputes")
@roles_required(*READERS)
@blp.arguments(PageQuerySchema(), location="query")
@blp.response(200, DisputePageSchema)
def get_tag_disputes(query: dict) -> Page:
    """Open disputes, the oldest first: the tag stops counting for the person meanwhile."""
    return open_disputes(query["page"], query["per_page"])


@blp.post("/tag-disputes/<id:dispute_id>/resolve")
@roles_required("push_admin")
@blp.arguments(DisputeResolveSchema())
@blp.response(200, AdminDisputeSchema)
@blp.alt_response(404, schema=ErrorSchema, description="no such dispute")
@blp.alt_response(409, schema=ErrorSchema, description="resolved before (`dispute_resolved`)")
def post_resolve_dispute(body: dict, dispute_id: int) -> TagDispute:
    """Decide a dispute: uphold the tag, or take it from the person."""
    record = resolve_dispute(current_user, dispute_id, body["outcome"], body["note"])
    db.session.commit()
    return record
