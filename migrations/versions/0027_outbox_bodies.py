"""Mail that reached its end keeps no body: the text and HTML of mail already sent, logged
or failed are blanked. They carried password reset links, verification codes and campaign
links, some still working, to anyone reading the database or a backup; Tunnus now blanks
them as each mail ends, and this does it for the mail before.

mail_outbox.sealed: the body of a mail still waiting is now encrypted (campaign mail
excepted: it holds no link). The mail already waiting is not, and is sent as it is.

Revision ID: 0027_outbox_bodies
Revises: 0026_identity
Create Date: 2026-12-02 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0027_outbox_bodies'
down_revision = '0026_identity'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mail_outbox') as batch_op:
        batch_op.add_column(sa.Column('sealed', sa.Boolean(), nullable=False, server_default=sa.false()))
    outbox = sa.table("mail_outbox", sa.column("status"), sa.column("text"), sa.column("html"))
    op.execute(outbox.update().where(outbox.c.status.in_(("sent", "logged", "failed")),
                                     sa.or_(outbox.c.text != "", outbox.c.html != ""))
               .values(text="", html=""))


def downgrade():
    # The blanked bodies are gone for good, as intended; sealed ones stay unreadable to the
    # code before.
    with op.batch_alter_table('mail_outbox') as batch_op:
        batch_op.drop_column('sealed')
