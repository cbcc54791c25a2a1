"""Data retention: each kind is kept its configured days, purged in batches, daily and on demand."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import celery, db
from app.models import AuditEntry, CertificateAccess, Presentation
from app.platform.clock import CHINA_TZ
from app.platform.orm import utcnow
from app.platform.retention import purge_expired
from tests.factories import create_certificate_type, create_user, issue_certificate

NOW = utcnow()
SETTINGS = {"RETENTION_ACCESS_LOG_DAYS": 30, "RETENTION_PRESENTATIONS_DAYS": 7,
            "RETENTION_AUDIT_LOG_DAYS": 365, "RETENTION_UPLOADS_DAYS": 30,
            "RETENTION_BATCH_SIZE": 1000}


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


@pytest.fixture
def certificate(app_context):
    return issue_certificate(kind=create_certificate_type(), holder=create_user())


def add_access(certificate, *ages: float) -> None:
    db.session.add_all(CertificateAccess(certificate_id=certificate.id, action="view",
                                         actor_kind="holder", at=days_ago(age)) for age in ages)
    db.session.commit()


def add_presentations(certificate, *ages: float) -> None:
    db.session.add_all(Presentation(jti=f"jti-{age}", certificate_id=certificate.id,
                                    issued_at=days_ago(age), expires_at=days_ago(age))
                       for age in ages)
    db.session.commit()


def add_audit(*ages: float) -> None:
    db.session.add_all(AuditEntry(actor_name="alice", action="catalog.theme_created",
                                  at=days_ago(age)) for age in ages)
    db.session.commit()


def ages(stamp) -> list[int]:
    return sorted(round((NOW - at).total_seconds() / 86400)
                  for at in db.session.scalars(sa.select(stamp)))


def purge(**settings) -> dict[str, int]:
    return purge_expired({**SETTINGS, **settings}, now=NOW)


def test_rows_older_than_their_kinds_retention_go_and_younger_ones_stay(certificate):
    add_access(certificate, 31, 29, 1)
    add_presentations(certificate, 8, 6)
    add_audit(400, 366, 364)
    assert purge() == {"access_log": 1, "presentations": 1, "audit_log": 2, "uploads": 0}
    assert ages(CertificateAccess.at) == [1, 29]
    assert ages(Presentation.expires_at) == [6]
    assert ages(AuditEntry.at) == [0, 364]  # 0: the purge's own entry


def test_zero_days_keeps_a_kind_forever(certificate):
    add_access(certificate, 5000)
    add_audit(5000)
    assert purge(RETENTION_ACCESS_LOG_DAYS=0, RETENTION_AUDIT_LOG_DAYS=0) == {
        "access_log": 0, "presentations": 0, "audit_log": 0, "uploads": 0}
    assert ages(CertificateAccess.at) == [5000]
    assert ages(AuditEntry.at) == [5000]


def test_a_purge_that_deletes_nothing_leaves_no_trace(app_context):
    add_audit(3)
    assert purge() == {"access_log": 0, "presentations": 0, "audit_log": 0, "uploads": 0}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 1


def test_the_purge_is_recorded_in_the_audit_log_with_its_counts(certificate):
    add_access(certificate, 40, 41)
    purge()
    entry = db.session.scalar(sa.select(AuditEntry).where(
        AuditEntry.action == "retention.purged"))
    assert entry.actor_name == "retention"
    assert entry.details == {"access_log": 2, "presentations": 0, "audit_log": 0,
                             "uploads": 0}


def test_a_large_purge_deletes_in_batches_of_the_configured_size(certificate):
    add_access(certificate, *range(31, 36))
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("DELETE FROM CERTIFICATE_ACCESS_LOG"):
            statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert purge(RETENTION_BATCH_SIZE=2)["access_log"] == 5
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 3  # 2 + 2 + 1, each committed on its own
    assert ages(CertificateAccess.at) == []


def test_flask_purge_expired_runs_the_purge_now(runner, certificate):
    add_access(certificate, 500)
    result = runner.invoke(args=["purge-expired"])
    assert result.exit_code == 0, result.output
    assert "access_log: 1 deleted" in result.output
    assert ages(CertificateAccess.at) == []


def test_the_daily_task_purges_with_the_apps_settings(app, certificate):
    add_access(certificate, app.config["RETENTION_ACCESS_LOG_DAYS"] + 1, 1)
    counts = celery.tasks["maintenance.purge_expired"].delay().get()
    assert counts["access_log"] == 1
    assert ages(CertificateAccess.at) == [1]


def test_beat_starts_the_purge_every_day_at_half_past_three_china_time():
    entry = celery.conf.beat_schedule["purge-expired-daily"]
    assert entry["task"] == "maintenance.purge_expired"
    schedule = entry["schedule"]
    assert celery.conf.timezone == "UTC"
    assert schedule.day_of_week == set(range(7)) and len(schedule.hour) == 1
    at_utc = datetime(2026, 1, 1, min(schedule.hour), min(schedule.minute), tzinfo=UTC)
    assert at_utc.astimezone(CHINA_TZ).time() == time(3, 30)
