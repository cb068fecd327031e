"""pushed authorization requests (RFC 9126): the requests clients push to /par, and the
clients that must push theirs

Revision ID: 0023_pushed_requests
Revises: 0022_client_keys
Create Date: 2026-12-01 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023_pushed_requests'
down_revision = '0022_client_keys'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'pushed_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reference_hash', sa.String(length=64), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('params', sa.JSON(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_pushed_requests_client_id_clients'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pushed_requests')),
        sa.UniqueConstraint('reference_hash', name=op.f('uq_pushed_requests_reference_hash')),
    )
    op.create_index(op.f('ix_pushed_requests_expires_at'), 'pushed_requests', ['expires_at'], unique=False)
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('require_pushed_authorization_requests', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('require_pushed_authorization_requests')
    op.drop_index(op.f('ix_pushed_requests_expires_at'), table_name='pushed_requests')
    op.drop_table('pushed_requests')
