"""clients: public keys for private_key_jwt (jwks, jwks_uri); used_client_assertions:
the jti of each client assertion used, until it expires

Revision ID: 0022_client_keys
Revises: 0021_campaign_mail_logged
Create Date: 2026-11-28 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022_client_keys'
down_revision = '0021_campaign_mail_logged'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('jwks', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('jwks_uri', sa.String(length=2000), nullable=True))
    op.create_table('used_client_assertions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('jti_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_used_client_assertions_client_id_clients'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_used_client_assertions')),
    sa.UniqueConstraint('client_id', 'jti_hash', name='uq_used_client_assertions_client_jti')
    )
    with op.batch_alter_table('used_client_assertions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_used_client_assertions_expires_at'), ['expires_at'], unique=False)


def downgrade():
    with op.batch_alter_table('used_client_assertions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_used_client_assertions_expires_at'))
    op.drop_table('used_client_assertions')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('jwks_uri')
        batch_op.drop_column('jwks')
