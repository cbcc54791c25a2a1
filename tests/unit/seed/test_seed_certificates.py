"""Demo certificates keep their story (one expiring soon, one expired) whenever they are seeded."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa

import app.seed.certificates as seeding
from app.extensions import db
from app.models.certificate import Certificate, CertificateType
from app.platform.clock import CHINA_TZ
from app.seed import seed_demo


def test_demo_dates_move_with_the_day_of_seeding(app_context, monkeypatch):
    later = seeding.DATA_AS_OF + timedelta(days=100)
    monkeypatch.setattr(seeding, "today_in_china", lambda: later)
    seed_demo()
    licence = db.session.scalar(sa.select(Certificate).join(CertificateType).where(
        CertificateType.code == "driving_licence").order_by(Certificate.id))
    # In the data file it expires on 2026-12-10, 18 days after the file's day.
    expected = datetime.combine(date(2026, 12, 11) + timedelta(days=100), datetime.min.time(),
                                CHINA_TZ)
    assert licence.expires_at == expected
    assert licence.expires_at - datetime.combine(later, datetime.min.time(), CHINA_TZ) < \
        timedelta(days=30)
