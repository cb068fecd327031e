"""tokens: the scope the refresh token carries, apart from the (possibly narrowed) access token's

Revision ID: 0016_refresh_scope
Revises: 0015_kiosk_idle_index
Create Date: 2026-11-26 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_refresh_scope'
down_revision = '0015_kiosk_idle_index'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refresh_scope', sa.String(length=500), nullable=True))
    # A row narrowed before now has lost the granted scope; its own scope is all there is.
    op.execute("UPDATE tokens SET refresh_scope = scope")
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.alter_column('refresh_scope', existing_type=sa.String(length=500), nullable=False)


def downgrade():
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.drop_column('refresh_scope')
