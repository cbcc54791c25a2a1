"""WeChat subscription credits and the claimed sends of push runs

Revision ID: c90f8f6eb71a
Revises: 0d638651f524
Create Date: 2026-11-27 00:10:12.402113

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = 'c90f8f6eb71a'
down_revision = '0d638651f524'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
# Microseconds on MySQL, as the models' UTCDateTime columns keep them.
DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql', 'mariadb')


def upgrade() -> None:
    op.create_table('subscription_credits',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('template_id', sa.String(length=64), nullable=False),
    sa.Column('credits', sa.Integer(), nullable=False),
    sa.Column('long_term', sa.Boolean(), nullable=False),
    sa.Column('updated_at', DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_subscription_credits_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription_credits')),
    sa.UniqueConstraint('user_id', 'template_id', name=op.f('uq_subscription_credits_user_id_template_id')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )

    op.create_table('push_sends',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('run_id', BIG_ID, nullable=False),
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('template_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('errcode', sa.Integer(), nullable=True),
    sa.Column('msgid', sa.String(length=32), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_at', DATETIME, nullable=True),
    sa.Column('sent_at', DATETIME, nullable=True),
    sa.Column('not_before', DATETIME, nullable=True),
    sa.Column('created_at', DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['push_runs.id'], name=op.f('fk_push_sends_run_id_push_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_push_sends_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_sends')),
    sa.UniqueConstraint('run_id', 'user_id', name=op.f('uq_push_sends_run_id_user_id')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('push_sends', schema=None) as batch_op:
        batch_op.create_index('ix_push_sends_status_claimed_at', ['status', 'claimed_at'], unique=False)
        batch_op.create_index('ix_push_sends_status_not_before', ['status', 'not_before'], unique=False)


def downgrade() -> None:
    for table in ('push_sends', 'subscription_credits'):
        op.drop_table(table)
