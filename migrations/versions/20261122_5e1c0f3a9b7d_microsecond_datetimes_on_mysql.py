"""microsecond datetimes on MySQL

Revision ID: 5e1c0f3a9b7d
Revises: 0d32b36631e2
Create Date: 2026-11-22 22:25:00

MySQL's DATETIME keeps whole seconds, so events within one second lost their order (recent
items, the audit and access logs). SQLite stores the fraction already: nothing to do there.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '5e1c0f3a9b7d'
down_revision = '0d32b36631e2'
branch_labels = None
depends_on = None

COLUMNS = [
    ("admin_accounts", "first_failed_login_at", True), ("admin_accounts", "locked_until", True),
    ("admin_accounts", "created_at", False), ("audit_log", "at", False),
    ("bundles", "updated_at", False), ("catalog_version", "changed_at", False),
    ("enterprises", "created_at", False), ("integration_events", "created_at", False),
    ("presentation_uses", "used_at", False), ("presentation_uses", "expires_at", False),
    ("service_items", "created_at", False), ("service_items", "updated_at", False),
    ("signing_keys", "created_at", False), ("signing_keys", "retired_at", True),
    ("themes", "updated_at", False), ("users", "real_name_verified_at", True),
    ("users", "created_at", False), ("users", "last_login_at", True),
    ("auth_sessions", "created_at", False), ("auth_sessions", "refreshed_at", True),
    ("auth_sessions", "expires_at", False), ("auth_sessions", "revoked_at", True),
    ("certificates", "issued_at", False), ("certificates", "expires_at", True),
    ("certificates", "revoked_at", True), ("certificates", "created_at", False),
    ("enterprise_bindings", "expires_at", True), ("enterprise_bindings", "created_at", False),
    ("favorites", "created_at", False), ("recent_visits", "visited_at", False),
    ("certificate_access_log", "at", False),
]


def _retype(to: sa.types.TypeEngine, existing: sa.types.TypeEngine) -> None:
    if op.get_bind().dialect.name not in ("mysql", "mariadb"):
        return
    for table, column, nullable in COLUMNS:
        op.alter_column(table, column, type_=to, existing_type=existing,
                        existing_nullable=nullable)


def upgrade() -> None:
    _retype(mysql.DATETIME(fsp=6), sa.DateTime())


def downgrade() -> None:
    _retype(sa.DateTime(), mysql.DATETIME(fsp=6))
