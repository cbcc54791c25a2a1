"""A push rule's results over HTTP: its runs summed with what people did with the messages."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.push.inbox import mark_clicked, mark_read
from tests.factories import auth_headers, create_admin, create_user
from tests.inbox_factories import create_rule, create_run


@pytest.fixture
def auditor(app_context):
    return auth_headers(create_admin(username="auditor", roles=("auditor",)))


def stats_of(client, headers, rule_id: int):
    return client.get(f"/api/v1/admin/push-rules/{rule_id}/stats", headers=headers)


def test_the_stats_count_deliveries_reads_and_clicks(client, auditor):
    rule = create_rule(audience="*")
    people = [create_user(name="李娜"), create_user(name="王芳"), create_user(name="张伟")]
    run = create_run(rule=rule, recipients=[person.id for person in people])
    mark_read(people[0], run.id)
    mark_clicked(people[1], run.id)
    mark_clicked(people[1], run.id)
    db.session.commit()
    response = stats_of(client, auditor, rule.id)
    assert response.status_code == 200, response.get_json()
    stats = response.get_json()
    assert (stats["delivered"], stats["read"], stats["clicked"]) == (3, 2, 1)
    assert stats["progress"] is None and set(stats["skipped"]) >= {"capped", "muted"}


def test_an_unknown_rule_has_no_stats(client, auditor):
    response = stats_of(client, auditor, 987654)
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
