"""clients: the networks a kiosk's sign-ins may come from

Revision ID: 0014_kiosk_networks
Revises: 0013_upstream_identified_at
Create Date: 2026-11-26 11:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_kiosk_networks'
down_revision = '0013_upstream_identified_at'
branch_labels = None
depends_on = None


def upgrade():
    # NULL (anywhere) for the kiosks there are: they keep working until an operator names
    # their networks (`tunnus clients kiosk-networks`).
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kiosk_networks', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('kiosk_networks')
