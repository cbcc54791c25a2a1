"""Signing-key records: written as an app starts, in a transaction of their own; a read that
finds them missing records them the same way and never commits the request's session."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app.certificates.signing import current_signing_key, jwks_document, register_local_keys
from app.extensions import db
from app.models import Theme
from app.models.certificate import SigningKeyRecord
from tests.conftest import CLOSED_MYSQL_URL


def recorded_kids() -> set[str]:
    with db.engine.connect() as connection:
        return set(connection.scalars(sa.select(SigningKeyRecord.kid)))


@pytest.fixture
def commits_of_sessions() -> Iterator[list[object]]:
    """Every commit of an app's session (never of a connection of its own) while it is open."""
    commits: list[object] = []

    def count(session: object) -> None:
        commits.append(session)

    sa.event.listen(db.session, "after_commit", count)
    yield commits
    sa.event.remove(db.session, "after_commit", count)


def test_reading_the_jwks_records_the_local_keys_without_committing_the_request(
        app, client, commits_of_sessions):
    with app.app_context():
        assert recorded_kids() == set()
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert {key["kid"] for key in response.json["keys"]} == set(app.extensions["signing_keys"])
    assert commits_of_sessions == []
    with app.app_context():
        assert recorded_kids() == set(app.extensions["signing_keys"])


def test_signing_leaves_what_the_caller_has_not_committed_uncommitted(app, app_context):
    db.session.add(Theme(code="pending", name="未提交的主题"))
    assert current_signing_key().kid in app.extensions["signing_keys"]
    db.session.rollback()
    assert db.session.scalar(sa.select(Theme).where(Theme.code == "pending")) is None
    assert recorded_kids() == set(app.extensions["signing_keys"])


def test_an_app_starting_records_its_signing_keys(app, make_app):
    with app.app_context():
        assert recorded_kids() == set()
    make_app()
    with app.app_context():
        assert recorded_kids() == set(app.extensions["signing_keys"])


def test_an_app_starts_before_its_tables_and_records_its_keys_on_first_use(
        make_app, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="app.certificates.signing")
    fresh = make_app(DATABASE_URL="sqlite:///" + str(tmp_path / "before-upgrade.sqlite3"))
    assert "no signing_keys table yet" in caplog.text
    with fresh.app_context():
        upgrade()
        assert recorded_kids() == set()
        assert {key["kid"] for key in jwks_document()["keys"]} == set(
            fresh.extensions["signing_keys"])
        assert recorded_kids() == set(fresh.extensions["signing_keys"])


def test_an_app_whose_database_is_down_still_starts_and_says_so(make_app, caplog):
    offline = make_app(DATABASE_URL=CLOSED_MYSQL_URL)
    assert offline.test_client().get("/healthz").status_code == 200
    assert "signing keys not recorded at start" in caplog.text


def test_a_key_another_worker_records_at_the_same_moment_is_no_error(app, app_context):
    local = app.extensions["signing_keys"]
    raced: list[str] = []

    def another_worker_records_them(connection, cursor, statement, *args) -> None:
        # Right after this worker looked for its kids, the other one inserts them.
        if not raced and statement.lstrip().upper().startswith("SELECT"):
            raced.append(statement)
            with db.engine.begin() as other:
                other.execute(sa.insert(SigningKeyRecord), [
                    {"kid": kid, "public_jwk": key.public_jwk(), "created_at": key.created_at}
                    for kid, key in local.items()])

    sa.event.listen(db.engine, "after_cursor_execute", another_worker_records_them)
    try:
        register_local_keys()
    finally:
        sa.event.remove(db.engine, "after_cursor_execute", another_worker_records_them)
    assert raced and recorded_kids() == set(local)
