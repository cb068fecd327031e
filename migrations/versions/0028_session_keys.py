"""login_sessions.key_hash: the browser's cookie proves its session with a secret key of
its own, of which only the SHA-256 is kept. Before, the cookie carried the session's `sid`,
which relying services also get (ID tokens, logout tokens) and the audit trail records.
Sessions from before have none; each gets one the first time its browser comes back
(web/browser._held_key).

Revision ID: 0028_session_keys
Revises: 0027_outbox_bodies
Create Date: 2026-12-03 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0028_session_keys'
down_revision = '0027_outbox_bodies'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('login_sessions') as batch_op:
        batch_op.add_column(sa.Column('key_hash', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_login_sessions_key_hash', ['key_hash'], unique=True)


def downgrade():
    with op.batch_alter_table('login_sessions') as batch_op:
        batch_op.drop_index('ix_login_sessions_key_hash')
        batch_op.drop_column('key_hash')
