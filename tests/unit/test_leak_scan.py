"""The scans that keep personal numbers and secrets out of logs and tables find them."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from tests import personal_numbers
from tests.conftest import SECRETS
from tests.personal_numbers import (
    find_leaks,
    leaks_in_captured_logs,
    new_certificate_number,
    new_id_number,
    new_phone_number,
    remember_secrets,
    watched,
)


def captured_lines() -> list[str]:
    return personal_numbers._log_lines


def forget_last_lines(count: int) -> None:
    """Take this test's deliberate leaks back out, so the run's own scan stays clean."""
    del personal_numbers._log_lines[-count:]


def test_find_leaks_spots_a_number_in_any_case():
    number = new_id_number()
    texts = ["nothing here", f"user {number.lower()} logged", "530102********1234"]
    assert find_leaks(texts, {number}) == [f"user {number.lower()} logged"]


def test_captured_logs_are_scanned_raw_before_masking(caplog):
    number = new_id_number()
    logging.getLogger("probe").warning("leak %s", "530102" + "********" + number[-4:])
    assert leaks_in_captured_logs() == []


def test_database_rows_are_scanned(app_context):
    from app.extensions import db
    from app.models import Theme
    from tests.personal_numbers import leaks_in_database

    number = new_id_number()
    db.session.add(Theme(code="leak", name=number))
    db.session.commit()
    try:
        assert leaks_in_database() == ["themes.name"]
    finally:
        db.session.delete(db.session.get(Theme, db.session.query(Theme.id).scalar()))
        db.session.commit()


def test_captured_logs_are_scanned_for_phone_and_certificate_numbers():
    phone, certificate = new_phone_number(), new_certificate_number()
    logging.getLogger("probe").warning("call %s about %s", phone, "certificate")
    logging.getLogger("probe").warning("certificate %s", certificate)
    assert find_leaks(captured_lines()[-2:], watched()) == [
        f"probe: call {phone} about certificate", f"probe: certificate {certificate}"]
    forget_last_lines(2)


def test_a_secret_in_a_log_line_is_flagged():
    remember_secrets(["k9:" + "c2VjcmV0LWtleS1mb3ItdGhlLWxlYWstc2Nhbg=="])
    logging.getLogger("probe").error("oops %s", "c2VjcmV0LWtleS1mb3ItdGhlLWxlYWstc2Nhbg==")
    assert leaks_in_captured_logs() == [
        "probe: oops c2VjcmV0LWtleS1mb3ItdGhlLWxlYWstc2Nhbg=="]
    forget_last_lines(1)
    assert leaks_in_captured_logs() == []


def test_the_configured_secrets_and_key_ids_are_told_apart():
    remember_secrets([SECRETS["JWT_SECRET_KEY"], SECRETS["DEPARTMENT_KEYS"]])
    key_id, key = SECRETS["DEPARTMENT_KEYS"].split(":")
    assert {SECRETS["JWT_SECRET_KEY"], key} <= watched()
    assert key_id not in watched()


def test_every_table_of_the_database_is_scanned_even_one_no_model_knows(app_context):
    from app.extensions import db
    from tests.personal_numbers import leaks_in_database

    secret = "stub-access-token-" + "x" * 20
    remember_secrets([secret])
    with db.engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE leak_probe (note VARCHAR(64))"))
        connection.execute(sa.text("INSERT INTO leak_probe VALUES (:note)"), {"note": secret})
    try:
        assert leaks_in_database() == ["leak_probe.note"]
    finally:
        db.session.remove()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE leak_probe"))
