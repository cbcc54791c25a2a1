"""A rule's statistics: its runs summed, reads and clicks, and who applied within a week of
clicking."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.extensions import db
from app.models.push import SKIP_REASONS, PushMessageState
from app.platform.orm import utcnow
from app.push.preferences import set_preferences
from app.push.runs import start_run
from app.push.stats import run_stats
from tests.factories import create_item, create_theme, create_user, file_case
from tests.unit.push.push_factories import create_rule, people


@pytest.fixture
def item(app_context):
    create_theme()
    return create_item(materials=[])


def acted(run, user, *, read_at=None, clicked_at=None) -> None:
    db.session.add(PushMessageState(run_id=run.id, user_id=user.id, read_at=read_at,
                                    clicked_at=clicked_at))
    db.session.commit()


def test_a_rules_runs_are_summed_by_reason(app_context):
    users = people(3)
    set_preferences(users[0], muted_categories=["licence"], quiet_hours=None,
                    wechat_enabled=True)
    rule = create_rule()
    first = start_run(rule, trigger="cron")
    start_run(rule, trigger="cron")
    acted(first, users[1], read_at=utcnow())
    acted(first, users[2], read_at=utcnow(), clicked_at=utcnow())
    stats = run_stats(rule.id)
    assert stats["runs"] == 2 and stats["targeted"] == 6 and stats["delivered"] == 4
    assert stats["skipped"] == {**dict.fromkeys(SKIP_REASONS, 0), "muted": 2}
    assert (stats["sent"], stats["failed"], stats["unknown"]) == (0, 0, 0)
    assert (stats["read"], stats["clicked"]) == (2, 1)
    assert stats["progress"] is None and stats["applied_within_7d"] == 0


def test_applying_within_a_week_of_a_click_counts_once_per_person(item):
    prompt, late, idle = create_user(), create_user(), create_user()
    rule = create_rule(target_code=item.code)
    run = start_run(rule, trigger="cron")
    now = utcnow()
    acted(run, prompt, clicked_at=now - timedelta(days=2))
    acted(run, late, clicked_at=now - timedelta(days=9))
    acted(run, idle, clicked_at=now - timedelta(days=1))
    for user in (prompt, prompt, late):
        file_case(user=user, code=item.code)  # submitted now
    stats = run_stats(rule.id)
    assert stats["clicked"] == 3 and stats["applied_within_7d"] == 1


def test_a_rule_with_no_runs_has_zeros(app_context):
    stats = run_stats(create_rule().id)
    assert stats["runs"] == stats["targeted"] == stats["delivered"] == stats["read"] == 0
