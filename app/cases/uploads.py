"""Material uploads: files a user sends to file with a case, taken by what they are.

A file's type is read from its content, never from its name or the Content-Type the client
declared: its first bytes are sniffed (`filetype`), and each type taken is checked a step
further where that is cheap (a PDF ends with %%EOF, a PNG with its IEND chunk, an OFD is a zip
holding OFD.xml). Files live outside the web root, named by their random upload id in folders
sharded by its first characters, and are written to a temporary file moved into place, so no
reader meets half a file. Its owner reads a file, and so does whoever may see the case it
joined; to anyone else it does not exist.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import re
import secrets
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

import filetype
import sqlalchemy as sa
from flask import current_app

from app.cases.reading import visible_case
from app.config import ConfigError
from app.extensions import db
from app.models import User
from app.models.case import CaseMaterial, Upload
from app.platform.errors import InvalidInput, NotFound, Unavailable
from app.platform.rate_limit import RateLimit, enforce

log = logging.getLogger(__name__)

JPEG, PNG, PDF, OFD = "image/jpeg", "image/png", "application/pdf", "application/ofd"
CONTENT_TYPES = (JPEG, PNG, PDF, OFD)
EXTENSIONS = {JPEG: ".jpg", PNG: ".png", PDF: ".pdf", OFD: ".ofd"}
UPLOADS_PER_HOUR = RateLimit(limit=50, window_seconds=3600)
UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
MAX_FILENAME = 128
# How far from the end a file's closing mark may sit: writers append a newline or a little
# padding after it.
TAIL = 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
# Runs of digits as long as a phone or ID number: a file name is stored in clear, for display.
_LONG_NUMBER = re.compile(r"[0-9]{10,}[0-9Xx]")
# A row that no case's material points at: its file joined no case.
UNATTACHED = ~sa.exists().where(CaseMaterial.upload_id == Upload.id)
NOT_FOUND_MESSAGE = "文件不存在"
UNSUPPORTED_MESSAGE = "仅支持 JPEG、PNG 图片和 PDF、OFD 文件"


class FileTooLarge(InvalidInput):
    """The file is over UPLOAD_MAX_BYTES."""

    error = "file_too_large"


def _whole_jpeg(data: bytes) -> bool:
    # After the start-of-image marker comes a segment marker (APPn, DQT, SOF, DHT, COM ...),
    # and an end-of-image marker follows somewhere: phones may append data after it.
    return len(data) > 4 and 0xC0 <= data[3] < 0xFF and data.find(b"\xff\xd9", 4) != -1


def _whole_png(data: bytes) -> bool:
    return (data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR"
            and PNG_END in data[-TAIL:])


def _whole_pdf(data: bytes) -> bool:
    return data.startswith(b"%PDF-") and b"%%EOF" in data[-TAIL:]


def _ofd(data: bytes) -> bool:
    """An OFD (GB/T 33190) is a zip with OFD.xml at its root; a zip cut short has no
    directory to read, so it is refused here too."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "OFD.xml" in archive.namelist()
    # What a crafted archive can make zipfile raise: it is no OFD then.
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError,
            NotImplementedError, OverflowError):
        return False


# The sniffed type → the content type it is stored as, and the check it must pass.
_TAKEN: dict[str, tuple[str, Callable[[bytes], bool]]] = {
    "image/jpeg": (JPEG, _whole_jpeg),
    "image/png": (PNG, _whole_png),
    "image/apng": (PNG, _whole_png),  # an animated PNG is a PNG (its first frame shows)
    "application/pdf": (PDF, _whole_pdf),
    "application/zip": (OFD, _ofd),
}


def sniff(data: bytes) -> str | None:
    """The content type of a file that is one the API takes, and whole enough to be it."""
    kind = filetype.guess(data)
    taken = _TAKEN.get(kind.mime) if kind is not None else None
    if taken is None:
        return None
    content_type, whole = taken
    return content_type if whole(data) else None


def display_name(filename: str | None) -> str:
    """The client's file name, for display only: its last path part, printable, long numbers
    hidden, at most MAX_FILENAME characters (its extension kept)."""
    name = unicodedata.normalize("NFC", (filename or "").replace("\\", "/").rsplit("/", 1)[-1])
    kept = []
    for char in name:
        category = unicodedata.category(char)
        if category == "Zs":
            kept.append(" ")
        elif category[0] not in "CZ":  # controls, bidi overrides, lone surrogates, breaks
            kept.append(char)
    name = " ".join("".join(kept).split()).strip(" .")
    name = _LONG_NUMBER.sub(lambda match: "*" * len(match.group()), name)
    if len(name) <= MAX_FILENAME:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and stem and len(extension) <= 16:
        return stem[:MAX_FILENAME - len(extension) - 1] + "." + extension
    return name[:MAX_FILENAME]


def upload_dir() -> Path:
    """Where files are kept: UPLOAD_DIR, or `uploads` in the instance folder. Never inside the
    static folder, which the app serves to anyone."""
    app = current_app
    root = Path(app.config["UPLOAD_DIR"] or Path(app.instance_path) / "uploads").resolve()
    if app.static_folder and root.is_relative_to(Path(app.static_folder).resolve()):
        raise ConfigError("UPLOAD_DIR must be outside the static folder")
    return root


def file_path(upload_id: str) -> Path:
    """The file of an upload: two levels of folders from its id, so none grows too large."""
    if not UPLOAD_ID.fullmatch(upload_id):
        raise ValueError("not an upload id")
    return upload_dir() / upload_id[:2] / upload_id[2:4] / upload_id


def _write(path: Path, data: bytes) -> None:
    """Write the file whole or not at all: into a temporary file beside it, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def store_upload(user: User, stream: BinaryIO, filename: str | None) -> Upload:
    """Take a file the user sent: checked, written to disk, its row added. The caller commits
    (and calls `discard_files` if it cannot)."""
    enforce("uploads", str(user.id), UPLOADS_PER_HOUR)
    limit = int(current_app.config["UPLOAD_MAX_BYTES"])
    data = stream.read(limit + 1)
    if not data:
        raise InvalidInput("file", "文件为空", error="empty_file")
    if len(data) > limit:
        raise FileTooLarge("file", f"文件不能超过 {limit / 1_048_576:g} MB")
    content_type = sniff(data)
    if content_type is None:
        raise InvalidInput("file", UNSUPPORTED_MESSAGE, error="unsupported_file_type")
    upload = Upload(id=secrets.token_hex(16), owner_user_id=user.id, content_type=content_type,
                    size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                    filename=display_name(filename))
    db.session.add(upload)
    db.session.flush()
    try:
        _write(file_path(upload.id), data)
    except OSError as exc:  # a full disk or a missing volume: an operator's to fix
        log.error("upload not written: %s", type(exc).__name__)
        raise Unavailable("文件暂时无法保存，请稍后再试") from None
    return upload


def discard_files(upload_ids: Iterable[str]) -> None:
    """Delete the files of uploads whose rows are gone (or were never committed)."""
    for upload_id in upload_ids:
        try:
            file_path(upload_id).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("upload file not deleted: %s", type(exc).__name__)


def _not_found() -> NotFound:
    return NotFound(NOT_FOUND_MESSAGE, errors={"upload_id": ["not found"]})


def own_upload(user: User, upload_id: str) -> Upload:
    """An upload of the caller's; 404 alike for one that does not exist and someone else's."""
    upload = db.session.get(Upload, upload_id) if UPLOAD_ID.fullmatch(upload_id) else None
    if upload is None or upload.owner_user_id != user.id:
        raise _not_found()
    return upload


def case_upload(user: User, case_no: str, material_key: str) -> Upload:
    """The uploaded file of a case's material, for whoever may see the case."""
    case = visible_case(user, case_no)
    material = next((m for m in case.materials if m.material_key == material_key), None)
    if material is None:
        raise NotFound("该办件没有这项材料", errors={"material_id": ["not found"]})
    if material.source != "upload":
        raise NotFound("该材料由电子证照提供（免提交），没有上传的文件",
                       error="material_has_no_file", errors={"material_id": ["certificate"]})
    upload = db.session.get(Upload, material.upload_id) if material.upload_id else None
    if upload is None:
        raise _not_found()
    return upload


def stored_file(upload: Upload) -> Path:
    """Where an upload's file is on disk; 404 if it is not there (deleted by hand)."""
    path = file_path(upload.id)
    if not path.is_file():
        log.warning("upload file missing on disk")
        raise _not_found()
    return path


def download_name(upload: Upload) -> str:
    """The name a download gets: the one shown, with the extension of what the file is."""
    stem = upload.filename.rpartition(".")[0] if "." in upload.filename else upload.filename
    return (stem or "材料") + EXTENSIONS[upload.content_type]


def described(upload: Upload) -> dict[str, Any]:
    return {"upload_id": upload.id, "content_type": upload.content_type, "size": upload.size,
            "filename": upload.filename, "created_at": upload.created_at}
