"""the claims request parameter (OIDC Core 5.5): what a code was granted, what a token's
userinfo answers, and the claims a person allowed one by name

Revision ID: 0020_claims_request
Revises: 0019_acting_personally
Create Date: 2026-11-27 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_claims_request'
down_revision = '0019_acting_personally'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claims_request', sa.JSON(), nullable=True))
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('userinfo_claims', sa.JSON(), nullable=True))
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claims', sa.String(length=500), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_column('claims')
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.drop_column('userinfo_claims')
    with op.batch_alter_table('authorization_codes', schema=None) as batch_op:
        batch_op.drop_column('claims_request')
