"""erasures: keyed hashes of what identified a person whose account was deleted at their
request, so a legacy import does not bring them back

Revision ID: 0025_erasures
Revises: 0024_dpop
Create Date: 2026-12-01 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025_erasures'
down_revision = '0024_dpop'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('erasures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('sub', sa.String(length=36), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_erasures'))
    )
    with op.batch_alter_table('erasures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_erasures_key_hash'), ['key_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_erasures_sub'), ['sub'], unique=False)


def downgrade():
    with op.batch_alter_table('erasures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_erasures_sub'))
        batch_op.drop_index(batch_op.f('ix_erasures_key_hash'))
    op.drop_table('erasures')
