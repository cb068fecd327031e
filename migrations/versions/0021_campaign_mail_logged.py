"""campaign_members: when a mail for the person was only logged (no IDP_SMTP_URL), apart
from last_mailed_at, which now means a mail server took it

Revision ID: 0021_campaign_mail_logged
Revises: 0020_claims_request
Create Date: 2026-11-27 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021_campaign_mail_logged'
down_revision = '0020_claims_request'
branch_labels = None
depends_on = None

# Members whose campaign mail was only ever logged were counted as delivered: the outbox
# still tells them apart, so they move to logged_at.
_MAIL = ("SELECT 1 FROM mail_outbox WHERE mail_outbox.campaign_id = campaign_members.campaign_id "
         "AND mail_outbox.identity_id = campaign_members.identity_id AND mail_outbox.status = '{}'")


def upgrade():
    with op.batch_alter_table('campaign_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('logged_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE campaign_members SET logged_at = last_mailed_at, last_mailed_at = NULL "
               f"WHERE last_mailed_at IS NOT NULL AND EXISTS ({_MAIL.format('logged')}) "
               f"AND NOT EXISTS ({_MAIL.format('sent')})")


def downgrade():
    op.execute("UPDATE campaign_members SET last_mailed_at = logged_at "
               "WHERE last_mailed_at IS NULL AND logged_at IS NOT NULL")
    with op.batch_alter_table('campaign_members', schema=None) as batch_op:
        batch_op.drop_column('logged_at')
