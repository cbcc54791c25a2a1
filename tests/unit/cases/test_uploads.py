"""Material uploads: taken by their content (never their name), within the size limit, written
whole outside the web root under a random id, and purged with their files once they have
waited too long for a case."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from app.cases import uploads
from app.cases.uploads import (
    FileTooLarge,
    display_name,
    download_name,
    file_path,
    sniff,
    store_upload,
    upload_dir,
)
from app.config import ConfigError
from app.extensions import db
from app.models.case import Upload
from app.platform.errors import InvalidInput, RateLimited, Unavailable
from app.platform.orm import utcnow
from app.platform.retention import purge_expired
from tests import sample_files as files
from tests.factories import create_item, create_theme, create_user, file_case

RETENTION = {"RETENTION_ACCESS_LOG_DAYS": 0, "RETENTION_PRESENTATIONS_DAYS": 0,
             "RETENTION_AUDIT_LOG_DAYS": 0, "RETENTION_UPLOADS_DAYS": 7,
             "RETENTION_BATCH_SIZE": 1000}


@pytest.fixture
def folder(app, tmp_path, monkeypatch) -> Path:
    """Where this test's files go."""
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))
    return tmp_path / "uploads"


@pytest.fixture
def user(app_context, folder):
    return create_user()


def store(user, data: bytes, name: str | None = "材料.pdf") -> Upload:
    upload = store_upload(user, io.BytesIO(data), name)
    db.session.commit()
    return upload


def files_in(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file()) if folder.exists() else []


@pytest.mark.parametrize(("data", "content_type"), [
    (files.png(), "image/png"), (files.jpeg(), "image/jpeg"), (files.pdf(), "application/pdf"),
    (files.ofd(), "application/ofd")])
def test_each_type_taken_is_stored_as_its_content_shows(user, data, content_type):
    assert store(user, data, "x.bin").content_type == content_type


def test_a_png_named_pdf_is_stored_as_a_png_and_downloads_as_one(user):
    upload = store(user, files.png(), "身份证扫描件.pdf")
    assert upload.content_type == "image/png"
    assert upload.filename == "身份证扫描件.pdf"  # shown as sent
    assert download_name(upload) == "身份证扫描件.png"


@pytest.mark.parametrize("data", [
    files.EXE, files.HTML, files.SVG, files.GIF, files.archive(**{"a.txt": b"x"}),
    files.png()[:-12],  # cut before its IEND chunk
    files.pdf()[:-7],  # no %%EOF
    files.pdf() + b"\n" * 2000,  # %%EOF far from the end: more was written after it
    files.ofd()[:-30],  # the zip's directory cut off
    files.jpeg()[:-2],  # no end-of-image marker
    b"\xff\xd8\xff",  # a JPEG's signature alone
], ids=["exe", "html", "svg", "gif", "zip", "png-cut", "pdf-no-eof", "pdf-eof-early",
        "ofd-cut", "jpeg-cut", "jpeg-signature"])
def test_what_is_not_a_whole_jpeg_png_pdf_or_ofd_is_refused_whatever_its_name(user, folder,
                                                                             data):
    with pytest.raises(InvalidInput) as refused:
        store_upload(user, io.BytesIO(data), "照片.jpg")
    assert (refused.value.error, refused.value.field) == ("unsupported_file_type", "file")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Upload)) == 0
    assert files_in(folder) == []


@given(tail=st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_sniffing_whatever_follows_a_signature_never_raises(tail):
    for head in (b"PK\x03\x04", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"%PDF-"):
        assert sniff(head + tail) in {None, "image/png", "image/jpeg", "application/pdf",
                                      "application/ofd"}


def test_an_empty_file_is_refused(user):
    with pytest.raises(InvalidInput) as refused:
        store_upload(user, io.BytesIO(b""), "空.pdf")
    assert (refused.value.error, refused.value.field) == ("empty_file", "file")


def test_a_file_over_the_limit_is_refused_and_one_at_it_is_taken(app, user, monkeypatch):
    data = files.pdf(b"%" + b"x" * 5000 + b"\n")
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", len(data) - 1)
    with pytest.raises(FileTooLarge) as refused:
        store_upload(user, io.BytesIO(data), "大.pdf")
    assert (refused.value.error, refused.value.field) == ("file_too_large", "file")
    db.session.rollback()
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", len(data))
    assert store(user, data).size == len(data)


def test_the_file_is_written_whole_under_its_random_id_outside_the_static_folder(app, user,
                                                                                 folder):
    data = files.pdf()
    upload = store(user, data, "../../etc/申请表.pdf")
    path = file_path(upload.id)
    assert len(upload.id) == 32 and int(upload.id, 16) >= 0
    assert path == folder.resolve() / upload.id[:2] / upload.id[2:4] / upload.id
    assert files_in(folder) == [path]  # no temporary file left beside it
    assert path.read_bytes() == data
    assert not path.is_relative_to(Path(app.static_folder).resolve())
    assert (upload.size, upload.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert upload.filename == "申请表.pdf"  # the name only, never a path


def test_a_write_that_fails_leaves_neither_a_file_nor_a_temporary_one(user, folder,
                                                                      monkeypatch):
    def broken_rename(source, target):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_rename)
    with pytest.raises(Unavailable):
        store_upload(user, io.BytesIO(files.png()), "a.png")
    assert files_in(folder) == []


def test_files_go_to_the_instance_folder_unless_told_and_never_into_the_static_one(
        app, app_context, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", "")
    assert upload_dir() == (Path(app.instance_path) / "uploads").resolve()
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(Path(app.static_folder) / "uploads"))
    with pytest.raises(ConfigError, match="UPLOAD_DIR"):
        upload_dir()


def test_uploads_are_limited_per_user_per_hour(user, monkeypatch):
    monkeypatch.setattr(uploads, "UPLOADS_PER_HOUR", uploads.RateLimit(2, 3600))
    store(user, files.png())
    store(user, files.png())
    with pytest.raises(RateLimited):
        store_upload(user, io.BytesIO(files.png()), "a.png")
    assert store(create_user(), files.png()).content_type == "image/png"  # another user's own


@pytest.mark.parametrize(("sent", "shown"), [
    ("C:\\Users\\李明\\Desktop\\户口本.jpg", "户口本.jpg"),
    ("a\u202egpj.exe", "agpj.exe"),  # a right-to-left override
    ("line\r\nbreak\x00.pdf", "linebreak.pdf"),
    ("\ud800bad.pdf", "bad.pdf"),
    ("  . 证明 .pdf . ", "证明 .pdf"),
    ("身份证530102199001011234.jpg", "身份证******************.jpg"),
    ("电话13812345678.png", "电话***********.png"),
    ("IMG_20261125_1200.jpg", "IMG_20261125_1200.jpg"),
    (None, ""),
])
def test_file_names_are_kept_for_display_only_and_harmless(sent, shown):
    assert display_name(sent) == shown


def test_a_long_file_name_is_cut_keeping_its_extension():
    name = display_name("很" * 300 + ".pdf")
    assert len(name) == 128 and name.endswith("很.pdf")


def old(upload: Upload, days: int) -> None:
    upload.created_at = utcnow() - timedelta(days=days)
    db.session.commit()


def test_uploads_that_joined_no_case_are_purged_with_their_files_once_old(user, folder):
    create_theme()
    code = create_item(name="图书馆读者证办理", materials=[
        {"id": "m1", "name": "个人照片", "required": False}]).code
    waiting, joined, young = (store(user, files.png()) for _ in range(3))
    file_case(user=user, code=code, materials=[{"material_id": "m1", "upload_id": joined.id}])
    old(waiting, 8)
    old(joined, 30)
    old(young, 6)
    paths = {upload.id: file_path(upload.id) for upload in (waiting, joined, young)}

    assert purge_expired(RETENTION)["uploads"] == 1
    left = set(db.session.scalars(sa.select(Upload.id)))
    assert left == {joined.id, young.id}
    assert {upload_id for upload_id, path in paths.items() if path.exists()} == left
