"""presentations record which certificate a token shows

Revision ID: 717282714783
Revises: 5e1c0f3a9b7d
Create Date: 2026-11-25 17:47:59.637730

Presentation tokens stop naming their certificate: each issued jti gets a row saying which
certificate it shows, and verification marks it used. `presentation_uses` (jtis seen at
verification) has no use left. Tokens shown before the upgrade (60 s at most) name no row and
are refused; the holder shows a new QR code.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# revision identifiers, used by Alembic.
revision = '717282714783'
down_revision = '5e1c0f3a9b7d'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
# What UTCDateTime is on each database: microseconds on MySQL (see 5e1c0f3a9b7d).
DATETIME = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), 'mysql', 'mariadb')
TABLE_OPTIONS = {'mysql_charset': 'utf8mb4', 'mysql_collate': 'utf8mb4_unicode_ci'}


def upgrade() -> None:
    op.create_table(
        'presentations',
        sa.Column('jti', sa.String(length=64), nullable=False),
        sa.Column('certificate_id', BIG_ID, nullable=False),
        sa.Column('issued_at', DATETIME, nullable=False),
        sa.Column('expires_at', DATETIME, nullable=False),
        sa.Column('used_at', DATETIME, nullable=True),
        sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'],
                                name=op.f('fk_presentations_certificate_id_certificates'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('jti', name=op.f('pk_presentations')),
        sa.Index(op.f('ix_presentations_certificate_id'), 'certificate_id'),
        sa.Index(op.f('ix_presentations_expires_at'), 'expires_at'),
        **TABLE_OPTIONS)
    op.drop_table('presentation_uses')  # its index goes with it


def downgrade() -> None:
    op.create_table(
        'presentation_uses',
        sa.Column('jti', sa.String(length=64), nullable=False),
        sa.Column('certificate_id', BIG_ID, nullable=False),
        sa.Column('used_at', DATETIME, nullable=False),
        sa.Column('expires_at', DATETIME, nullable=False),
        sa.PrimaryKeyConstraint('jti', name=op.f('pk_presentation_uses')),
        sa.Index(op.f('ix_presentation_uses_expires_at'), 'expires_at'),
        **TABLE_OPTIONS)
    # MySQL refuses to drop an index its foreign key needs; dropping the table drops both.
    op.drop_table('presentations')
