"""index the certificate access log by time

Revision ID: 0ee12c25168b
Revises: 717282714783
Create Date: 2026-11-25 18:05:41.406447

The retention purge deletes entries older than a day, of every certificate at once: the
(certificate_id, at) index cannot find them without reading the whole table.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0ee12c25168b'
down_revision = '717282714783'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('certificate_access_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_access_log_at'), ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('certificate_access_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_access_log_at'))
