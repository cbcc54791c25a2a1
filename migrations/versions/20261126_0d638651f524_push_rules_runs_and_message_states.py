"""Push rules, their runs (audience snapshots) and what people did with messages

Revision ID: 0d638651f524
Revises: a00e2b03d68d
Create Date: 2026-11-26 00:06:51.701500

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '0d638651f524'
down_revision = 'a00e2b03d68d'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
# Microseconds on MySQL, as the models' UTCDateTime columns keep them.
DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql', 'mariadb')


def upgrade() -> None:
    op.create_table('push_rules',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('audience', sa.Text(), nullable=False),
    sa.Column('reason', sa.String(length=100), nullable=False),
    sa.Column('title', sa.String(length=20), nullable=False),
    sa.Column('body', sa.String(length=200), nullable=False),
    sa.Column('target_kind', sa.String(length=16), nullable=False),
    sa.Column('target_code', sa.String(length=32), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('wechat_template_id', sa.String(length=64), nullable=True),
    sa.Column('wechat_data', sa.JSON(), nullable=False),
    sa.Column('schedule_type', sa.String(length=8), nullable=False),
    sa.Column('schedule_at', DATETIME, nullable=True),
    sa.Column('cron', sa.String(length=64), nullable=True),
    sa.Column('event', sa.String(length=48), nullable=True),
    sa.Column('event_params', sa.JSON(), nullable=False),
    sa.Column('cap_per_day', sa.Integer(), nullable=True),
    sa.Column('cap_per_week', sa.Integer(), nullable=True),
    sa.Column('priority', sa.String(length=8), nullable=False),
    sa.Column('ends_at', DATETIME, nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', BIG_ID, nullable=True),
    sa.Column('submitted_by', BIG_ID, nullable=True),
    sa.Column('approved_by', BIG_ID, nullable=True),
    sa.Column('approved_at', DATETIME, nullable=True),
    sa.Column('review_note', sa.String(length=200), nullable=False),
    sa.Column('next_run_at', DATETIME, nullable=True),
    sa.Column('created_at', DATETIME, nullable=False),
    sa.Column('updated_at', DATETIME, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_rules')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('push_rules', schema=None) as batch_op:
        batch_op.create_index('ix_push_rules_status', ['status', 'schedule_type'], unique=False)

    op.create_table('push_runs',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('rule_id', BIG_ID, nullable=False),
    sa.Column('trigger', sa.String(length=8), nullable=False),
    sa.Column('event_key', sa.String(length=96), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('title', sa.String(length=20), nullable=False),
    sa.Column('body', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('recipients', sa.LargeBinary().with_variant(mysql.LONGBLOB(), 'mariadb').with_variant(mysql.LONGBLOB(), 'mysql'), nullable=False),
    sa.Column('index_seq', sa.BigInteger(), nullable=False),
    sa.Column('targeted', sa.Integer(), nullable=False),
    sa.Column('delivered', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.JSON(), nullable=False),
    sa.Column('started_at', DATETIME, nullable=False),
    sa.Column('finished_at', DATETIME, nullable=True),
    sa.Column('stopped_at', DATETIME, nullable=True),
    sa.ForeignKeyConstraint(['rule_id'], ['push_rules.id'], name=op.f('fk_push_runs_rule_id_push_rules')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_runs')),
    sa.UniqueConstraint('rule_id', 'event_key', name=op.f('uq_push_runs_rule_id_event_key')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('push_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_runs_rule_id'), ['rule_id'], unique=False)
        batch_op.create_index('ix_push_runs_started', ['status', 'started_at'], unique=False)

    op.create_table('push_message_states',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('run_id', BIG_ID, nullable=False),
    sa.Column('read_at', DATETIME, nullable=True),
    sa.Column('clicked_at', DATETIME, nullable=True),
    sa.Column('dismissed_at', DATETIME, nullable=True),
    sa.ForeignKeyConstraint(['run_id'], ['push_runs.id'], name=op.f('fk_push_message_states_run_id_push_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_push_message_states_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_message_states')),
    sa.UniqueConstraint('user_id', 'run_id', name=op.f('uq_push_message_states_user_id_run_id')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )


def downgrade() -> None:
    for table in ('push_message_states', 'push_runs', 'push_rules'):
        op.drop_table(table)
