"""Material files: upload one (multipart), read it back, read a case's through the case."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import marshmallow as ma
from flask import Response, current_app, request, send_file
from flask_jwt_extended import current_user
from flask_smorest import abort
from flask_smorest.fields import Upload as UploadField

from app.api.docs import ErrorSchema
from app.api.permissions import user_required
from app.api.request_bodies import Blueprint
from app.api.schemas import LocalDateTime, RequestSchema
from app.cases.uploads import (
    CONTENT_TYPES,
    FileTooLarge,
    case_upload,
    described,
    discard_files,
    download_name,
    own_upload,
    store_upload,
    stored_file,
)
from app.extensions import db
from app.models.case import Upload

blp = Blueprint("uploads", __name__, url_prefix="/api/v1",
                description="Material files: upload, read back")
F = TypeVar("F", bound=Callable[..., Any])
# What a multipart body carries beside the file: boundaries, part headers, a file name.
MULTIPART_ALLOWANCE = 65_536
FORM_PARTS = 8
# A file the document's example names: the smallest PDF the upload takes.
EXAMPLE_PDF = "%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
FILE_ANSWER = {
    "description": "the file, as an attachment, with the type its content showed",
    "headers": {"Content-Disposition": {"schema": {"type": "string"},
                                        "description": "attachment; filename=..."}},
    "content": {content_type: {"schema": {"type": "string", "format": "binary"}}
                for content_type in CONTENT_TYPES},
}


class UploadFormSchema(RequestSchema):
    file = UploadField(required=True, metadata={
        "description": "a JPEG or PNG image, or a PDF or OFD file, at most UPLOAD_MAX_BYTES"
                       " (10 MB by default); its type is read from its content, whatever its"
                       " name or declared type",
        "example": EXAMPLE_PDF})


class UploadSchema(ma.Schema):
    upload_id = ma.fields.String(metadata={"description": "name it as a case's material"})
    content_type = ma.fields.String(metadata={"enum": list(CONTENT_TYPES)})
    size = ma.fields.Integer(metadata={"description": "bytes"})
    filename = ma.fields.String(metadata={"description": "the name sent, for display only"})
    created_at = LocalDateTime()


def takes_upload_bodies(view: F) -> F:
    """Let the route's body be as large as a file may be, with its multipart wrapping; every
    other route keeps MAX_CONTENT_LENGTH.

    The form's memory limit is the body's: werkzeug counts a file's lines against it as it
    parses them, so a lower one refuses ordinary documents with line breaks in them."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        request.max_content_length = (int(current_app.config["UPLOAD_MAX_BYTES"])
                                      + MULTIPART_ALLOWANCE)
        request.max_form_memory_size = request.max_content_length
        request.max_form_parts = FORM_PARTS
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _file_answer(upload: Upload) -> Response:
    response = send_file(stored_file(upload), mimetype=upload.content_type, as_attachment=True,
                         download_name=download_name(upload), conditional=False, etag=False)
    # The type was sniffed once, at upload: no browser is to guess another.
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blp.post("/uploads")
@user_required
@takes_upload_bodies
@blp.arguments(UploadFormSchema(), location="files")
@blp.response(201, UploadSchema)
@blp.alt_response(413, schema=ErrorSchema,
                  description="the file is over UPLOAD_MAX_BYTES (`file_too_large`)")
@blp.alt_response(422, schema=ErrorSchema,
                  description="no `file` part, an empty file (`empty_file`), or one whose"
                              " content is not JPEG, PNG, PDF or OFD (`unsupported_file_type`)")
@blp.alt_response(429, schema=ErrorSchema, description="more than 50 uploads in an hour")
def post_upload(files: dict) -> tuple[dict, int]:
    """Upload a material file (multipart/form-data, part `file`); name its `upload_id` in a
    case's materials. Only its owner reads it, and whoever may see the case it joins."""
    sent = files["file"]
    try:
        upload = store_upload(current_user, sent.stream, sent.filename)
    except FileTooLarge as exc:
        abort(413, message=exc.message, error=exc.error, errors=exc.errors)
    try:
        db.session.commit()
    except Exception:
        discard_files([upload.id])
        raise
    return described(upload), 201


@blp.get("/uploads/<upload_id:upload_id>")
@user_required
@blp.doc(responses={"200": FILE_ANSWER})
@blp.alt_response(404, schema=ErrorSchema,
                  description="no such upload, or someone else's")
def get_upload(upload_id: str) -> Response:
    """An uploaded file of the caller's."""
    return _file_answer(own_upload(current_user, upload_id))


@blp.get("/cases/<case_no:case_no>/materials/<material_key:material_id>/file")
@user_required
@blp.doc(responses={"200": FILE_ANSWER})
@blp.alt_response(404, schema=ErrorSchema,
                  description="no such case the caller may see, no such material, or one a"
                              " certificate provided (`material_has_no_file`)")
def get_case_material_file(case_no: str, material_id: str) -> Response:
    """The uploaded file of a case's material, for whoever may see the case (its applicant;
    for an enterprise's case, its legal representative and agents with the cases scope)."""
    return _file_answer(case_upload(current_user, case_no, material_id))
