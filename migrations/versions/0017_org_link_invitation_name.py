"""legacy_accounts: when the row's organisation link was applied, so a re-import does not
apply it again; invitations: the display name the membership gets when it is accepted

Revision ID: 0017_org_link_invitation_name
Revises: 0016_refresh_scope
Create Date: 2026-11-26 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_org_link_invitation_name'
down_revision = '0016_refresh_scope'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('legacy_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('org_linked_at', sa.DateTime(), nullable=True))
    # Every import so far ended by applying its rows' organisation links.
    op.execute("UPDATE legacy_accounts SET org_linked_at = imported_at"
               " WHERE identity_id IS NOT NULL AND org_business_id IS NOT NULL")
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('display_name', sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_column('display_name')
    with op.batch_alter_table('legacy_accounts', schema=None) as batch_op:
        batch_op.drop_column('org_linked_at')
