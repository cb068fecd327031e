"""DPoP (RFC 9449): clients.dpop_bound_access_tokens; the key a code (dpop_jkt) or a
token is bound to; used_dpop_proofs: each proof accepted once, until it is too old anyway

Revision ID: 0024_dpop
Revises: 0023_pushed_requests
Create Date: 2026-11-28 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0024_dpop'
down_revision = '0023_pushed_requests'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpop_bound_access_tokens', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpop_jkt', sa.String(length=43), nullable=True))
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dpop_jkt', sa.String(length=43), nullable=True))
    op.create_table('used_dpop_proofs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('jkt', sa.String(length=43), nullable=False),
    sa.Column('jti_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_used_dpop_proofs')),
    sa.UniqueConstraint('jkt', 'jti_hash', name='uq_used_dpop_proofs_jkt_jti_hash')
    )
    with op.batch_alter_table('used_dpop_proofs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_used_dpop_proofs_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('used_dpop_proofs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_used_dpop_proofs_expires_at'))
    op.drop_table('used_dpop_proofs')
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.drop_column('dpop_jkt')
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.drop_column('dpop_jkt')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('dpop_bound_access_tokens')
