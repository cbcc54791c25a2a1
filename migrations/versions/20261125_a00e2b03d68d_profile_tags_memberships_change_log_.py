"""Profile tags: definitions, memberships, the change log, disputes; push preferences

Revision ID: a00e2b03d68d
Revises: 6c1e7603b456
Create Date: 2026-11-25 23:47:24.355499

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = 'a00e2b03d68d'
down_revision = '6c1e7603b456'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
# Microseconds on MySQL, as the models' UTCDateTime columns keep them.
DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql', 'mariadb')


def upgrade() -> None:
    op.create_table('tag_changes',
    sa.Column('seq', BIG_ID, autoincrement=True, nullable=False),
    sa.Column('tag', sa.String(length=64), nullable=False),
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('present', sa.Boolean(), nullable=False),
    sa.Column('at', DATETIME, nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_tag_changes')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('tag_changes', schema=None) as batch_op:
        batch_op.create_index('ix_tag_changes_at', ['at'], unique=False)

    op.create_table('tag_definitions',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('sensitive', sa.Boolean(), nullable=False),
    sa.Column('retired_at', DATETIME, nullable=True),
    sa.Column('created_at', DATETIME, nullable=False),
    sa.Column('updated_at', DATETIME, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tag_definitions')),
    sa.UniqueConstraint('name', name=op.f('uq_tag_definitions_name')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    op.create_table('push_preferences',
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('muted_categories', sa.JSON(), nullable=False),
    sa.Column('quiet_start', sa.String(length=5), nullable=True),
    sa.Column('quiet_end', sa.String(length=5), nullable=True),
    sa.Column('wechat_enabled', sa.Boolean(), nullable=False),
    sa.Column('updated_at', DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_push_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_push_preferences')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    op.create_table('tag_disputes',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('tag', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', DATETIME, nullable=False),
    sa.Column('resolved_at', DATETIME, nullable=True),
    sa.Column('resolved_by', BIG_ID, nullable=True),
    sa.Column('resolution_note', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_tag_disputes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tag_disputes')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('tag_disputes', schema=None) as batch_op:
        batch_op.create_index('ix_tag_disputes_status', ['status', 'created_at'], unique=False)

    op.create_table('tag_memberships',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('user_id', BIG_ID, nullable=False),
    sa.Column('tag', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('since', DATETIME, nullable=False),
    sa.Column('expires_at', DATETIME, nullable=True),
    sa.Column('added_by', BIG_ID, nullable=True),
    sa.Column('disputed_at', DATETIME, nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_tag_memberships_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tag_memberships')),
    sa.UniqueConstraint('user_id', 'tag', name=op.f('uq_tag_memberships_user_id_tag')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('tag_memberships', schema=None) as batch_op:
        batch_op.create_index('ix_tag_memberships_expires_at', ['expires_at'], unique=False)
        batch_op.create_index('ix_tag_memberships_tag_user', ['tag', 'user_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_birth_date'), ['birth_date'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_birth_date'))
    for table in ('tag_memberships', 'tag_disputes', 'push_preferences', 'tag_definitions',
                  'tag_changes'):
        op.drop_table(table)
