"""upstream links: when the provider last identified the person (for the account page)

Revision ID: 0013_upstream_identified_at
Revises: 0012_revoked_access_tokens
Create Date: 2026-11-26 02:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_upstream_identified_at'
down_revision = '0012_revoked_access_tokens'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('upstream_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('identified_at', sa.DateTime(), nullable=True))
    # Until now the last identification was known only per person; the link's own date is the best guess.
    op.execute("UPDATE upstream_links SET identified_at = linked_at")


def downgrade():
    with op.batch_alter_table('upstream_links', schema=None) as batch_op:
        batch_op.drop_column('identified_at')
