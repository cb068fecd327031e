"""legacy_accounts.password_retired_at indexed: the login page asks on every view whether
any old account has not moved over, which without an index reads the whole table once
everyone has

Revision ID: 0027_legacy_open_index
Revises: 0026_identity
Create Date: 2026-11-27 10:20:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0027_legacy_open_index'
down_revision = '0026_identity'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('legacy_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legacy_accounts_password_retired_at'), ['password_retired_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('legacy_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legacy_accounts_password_retired_at'))
