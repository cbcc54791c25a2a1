"""cases timeline materials uploads ratings rectifications and the domain event outbox

Revision ID: 6c1e7603b456
Revises: 0ee12c25168b
Create Date: 2026-11-25 19:42:20.734314

Cases (办件) with their timeline nodes and materials, material uploads, ratings (好差评) and the
rectifications bad ratings open; the serial counter behind case numbers; the domain event
outbox. Service items gain an application form and an optional instant-approval (秒批) rule;
existing items get an empty form.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '6c1e7603b456'
down_revision = '0ee12c25168b'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
# What UTCDateTime is on each database: microseconds on MySQL (see 5e1c0f3a9b7d).
DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql', 'mariadb')


def upgrade() -> None:
    op.create_table('case_serials',
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('last', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('scope', name=op.f('pk_case_serials')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    op.create_table('domain_events',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('name', sa.String(length=48), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', DATETIME, nullable=False),
    sa.Column('dispatched_at', DATETIME, nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_domain_events')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('domain_events', schema=None) as batch_op:
        batch_op.create_index('ix_domain_events_pending', ['dispatched_at', 'id'], unique=False)

    op.create_table('cases',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('case_no', sa.String(length=24), nullable=False),
    sa.Column('query_code', sa.String(length=8), nullable=False),
    sa.Column('parent_id', BIG_ID, nullable=True),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('service_code', sa.String(length=20), nullable=False),
    sa.Column('service_name', sa.String(length=128), nullable=False),
    sa.Column('department', sa.String(length=128), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('catalog_version', sa.Integer(), nullable=False),
    sa.Column('applicant_user_id', BIG_ID, nullable=True),
    sa.Column('enterprise_id', BIG_ID, nullable=True),
    sa.Column('form_enc', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('instant', sa.Boolean(), nullable=False),
    sa.Column('promised_limit_days', sa.Integer(), nullable=False),
    sa.Column('submitted_at', DATETIME, nullable=False),
    sa.Column('due_at', DATETIME, nullable=True),
    sa.Column('closed_at', DATETIME, nullable=True),
    sa.Column('overdue_at', DATETIME, nullable=True),
    sa.Column('paused_at', DATETIME, nullable=True),
    sa.Column('client_key', sa.String(length=64), nullable=True),
    sa.Column('request_digest', sa.String(length=64), nullable=True),
    sa.Column('updated_at', DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['applicant_user_id'], ['users.id'], name=op.f('fk_cases_applicant_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_cases_enterprise_id_enterprises'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['parent_id'], ['cases.id'], name=op.f('fk_cases_parent_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('applicant_user_id', 'client_key', name=op.f('uq_cases_applicant_user_id_client_key')),
    sa.UniqueConstraint('case_no', name=op.f('uq_cases_case_no')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_applicant_list', ['applicant_user_id', 'enterprise_id', 'submitted_at', 'status', 'parent_id'], unique=False)
        batch_op.create_index('ix_cases_enterprise_list', ['enterprise_id', 'submitted_at', 'status', 'parent_id'], unique=False)
        batch_op.create_index('ix_cases_kind_submitted', ['kind', 'submitted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_service_code'), ['service_code'], unique=False)
        batch_op.create_index('ix_cases_status_due', ['status', 'due_at'], unique=False)

    op.create_table('uploads',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('owner_user_id', BIG_ID, nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=128), nullable=False),
    sa.Column('created_at', DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['owner_user_id'], ['users.id'], name=op.f('fk_uploads_owner_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_uploads')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_uploads_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_uploads_owner_user_id'), ['owner_user_id'], unique=False)

    op.create_table('case_materials',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('case_id', BIG_ID, nullable=False),
    sa.Column('material_key', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('certificate_id', BIG_ID, nullable=True),
    sa.Column('upload_id', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_materials_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_case_materials_certificate_id_certificates'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['upload_id'], ['uploads.id'], name=op.f('fk_case_materials_upload_id_uploads'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_materials')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('case_materials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_materials_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_materials_certificate_id'), ['certificate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_materials_upload_id'), ['upload_id'], unique=False)

    op.create_table('case_nodes',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('case_id', BIG_ID, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('at', DATETIME, nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('department', sa.String(length=128), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_nodes_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_nodes')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('case_nodes', schema=None) as batch_op:
        batch_op.create_index('ix_case_nodes_case_at', ['case_id', 'at'], unique=False)

    op.create_table('case_ratings',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('case_id', BIG_ID, nullable=False),
    sa.Column('user_id', BIG_ID, nullable=True),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=False),
    sa.Column('created_at', DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_ratings_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_case_ratings_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_ratings')),
    sa.UniqueConstraint('case_id', name=op.f('uq_case_ratings_case_id')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('case_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_ratings_created_at'), ['created_at'], unique=False)

    op.create_table('rectifications',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('case_id', BIG_ID, nullable=False),
    sa.Column('rating_id', BIG_ID, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('department', sa.String(length=128), nullable=False),
    sa.Column('due_at', DATETIME, nullable=False),
    sa.Column('assignee', sa.String(length=64), nullable=False),
    sa.Column('assigned_by_admin_id', BIG_ID, nullable=True),
    sa.Column('reply', sa.String(length=1000), nullable=False),
    sa.Column('replied_at', DATETIME, nullable=True),
    sa.Column('closed_at', DATETIME, nullable=True),
    sa.Column('appeal', sa.String(length=500), nullable=False),
    sa.Column('appealed_at', DATETIME, nullable=True),
    sa.Column('created_at', DATETIME, nullable=False),
    sa.Column('updated_at', DATETIME, nullable=False),
    sa.ForeignKeyConstraint(['assigned_by_admin_id'], ['admin_accounts.id'], name=op.f('fk_rectifications_assigned_by_admin_id_admin_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_rectifications_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rating_id'], ['case_ratings.id'], name=op.f('fk_rectifications_rating_id_case_ratings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectifications')),
    sa.UniqueConstraint('case_id', name=op.f('uq_rectifications_case_id')),
    mysql_charset='utf8mb4',
    mysql_collate='utf8mb4_unicode_ci'
    )
    with op.batch_alter_table('rectifications', schema=None) as batch_op:
        batch_op.create_index('ix_rectifications_status_due', ['status', 'due_at'], unique=False)

    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('instant_approval', sa.JSON(), nullable=True))
    op.execute("UPDATE service_items SET form = '{}'")
    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.alter_column('form', existing_type=sa.JSON(), nullable=False)



def downgrade() -> None:
    with op.batch_alter_table('service_items', schema=None) as batch_op:
        batch_op.drop_column('instant_approval')
        batch_op.drop_column('form')
    # Dropping a table drops its indexes; dropping them first fails on MySQL where a foreign
    # key needs one.
    for table in ('rectifications', 'case_ratings', 'case_nodes', 'case_materials', 'uploads',
                  'cases', 'domain_events', 'case_serials'):
        op.drop_table(table)
