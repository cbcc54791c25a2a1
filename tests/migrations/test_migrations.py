"""The migrations build exactly the schema the models describe, on SQLite and MariaDB."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app.extensions import db
from app.models import Theme


def schema_differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_models_and_migrations_agree(app_context):
    assert schema_differences() == []


def test_migrations_go_down_to_nothing_and_back_up(app_context):
    downgrade(revision="base")
    tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade()
    assert schema_differences() == []


def test_chinese_and_rare_characters_round_trip(app_context):
    name = "𠮷野家·生育收养🍼"  # outside the BMP: needs utf8mb4 on MySQL
    db.session.add(Theme(code="rare", name=name))
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalar(sa.select(Theme.name).where(Theme.code == "rare")) == name
