"""The scans that keep clear ID numbers out of logs and tables do find them."""

from __future__ import annotations

import logging

from tests.personal_numbers import find_leaks, leaks_in_captured_logs, new_id_number


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
