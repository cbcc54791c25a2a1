"""Operator commands."""

from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.identity.admin_accounts import find_admin, password_matches


def table_snapshot() -> dict[str, list]:
    snapshot = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
        snapshot[table.name] = [tuple(row) for row in rows]
    return snapshot


def test_seed_demo_twice_changes_nothing_the_second_time(runner, app_context):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    before = table_snapshot()
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert "0 changed" in second.output and " 1 changed" not in second.output
    assert table_snapshot() == before


def test_seed_demo_creates_admin_with_every_role_and_an_approver(runner, app, app_context):
    runner.invoke(args=["seed-demo"])
    admin, approver = find_admin("admin"), find_admin("approver")
    assert set(admin.roles) == {"catalog_admin", "push_admin", "push_approver", "auditor",
                                "super_admin"}
    assert approver.roles == ["push_approver"]
    assert password_matches(admin, app.config["DEMO_ADMIN_PASSWORD"])
    assert not password_matches(admin, "wrong-password")


def test_create_admin_reads_the_password_from_stdin(runner, app_context):
    result = runner.invoke(args=["create-admin", "clerk", "--role", "verifier",
                                 "--institution", "五华区政务服务中心", "--password-stdin"],
                           input="a-long-enough-password\n")
    assert result.exit_code == 0, result.output
    clerk = find_admin("clerk")
    assert clerk.roles == ["verifier"]
    assert clerk.institution_name == "五华区政务服务中心"
    assert "a-long-enough-password" not in clerk.password_hash


def test_create_admin_refuses_a_short_password_and_a_taken_name(runner, app_context):
    short = runner.invoke(args=["create-admin", "a1", "--role", "auditor", "--password-stdin"],
                          input="short\n")
    assert short.exit_code != 0 and "密码" in short.output
    runner.invoke(args=["create-admin", "a2", "--role", "auditor", "--password-stdin"],
                  input="long-enough-pw\n")
    taken = runner.invoke(args=["create-admin", "a2", "--role", "auditor", "--password-stdin"],
                          input="long-enough-pw\n")
    assert taken.exit_code != 0 and "已存在" in taken.output


def test_create_admin_refuses_an_unknown_role(runner):
    result = runner.invoke(args=["create-admin", "x", "--role", "emperor", "--password-stdin"],
                           input="long-enough-pw\n")
    assert result.exit_code != 0


def test_create_admin_is_audited_without_the_password(runner, app_context):
    from app.models import AuditEntry

    runner.invoke(args=["create-admin", "carol", "--role", "auditor", "--password-stdin"],
                  input="long-enough-pw\n")
    entry = db.session.scalar(sa.select(AuditEntry))
    assert entry.action == "admin.created" and entry.details["roles"] == ["auditor"]
    assert "long-enough-pw" not in str(entry.details)
