"""login_sessions: "Myself" chosen as whom the browser acts for (organisation_id is None
then, which alone also means "never chose")

Revision ID: 0019_acting_personally
Revises: 0018_legacy_login_wait
Create Date: 2026-11-26 17:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_acting_personally'
down_revision = '0018_legacy_login_wait'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acting_personally', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('login_sessions', schema=None) as batch_op:
        batch_op.drop_column('acting_personally')
