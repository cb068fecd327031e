"""legacy_accounts: wrong passwords in a row and the wait they earned, for accounts not
merged into an identity yet (merged ones count on the identity)

Revision ID: 0018_legacy_login_wait
Revises: 0017_org_link_invitation_name
Create Date: 2026-11-26 17:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_legacy_login_wait'
down_revision = '0017_org_link_invitation_name'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('legacy_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('legacy_accounts', schema=None) as batch_op:
        batch_op.drop_column('locked_until')
        batch_op.drop_column('failed_logins')
