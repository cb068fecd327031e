"""login_sessions: an index of the live kiosk sessions, for ending those left idle

Revision ID: 0015_kiosk_idle_index
Revises: 0014_kiosk_networks
Create Date: 2026-11-26 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_kiosk_idle_index'
down_revision = '0014_kiosk_networks'
branch_labels = None
depends_on = None

LIVE_KIOSK = sa.text("kiosk_client_id IS NOT NULL AND ended_at IS NULL")


def upgrade():
    op.create_index('ix_login_sessions_kiosk_live', 'login_sessions', ['expires_at'],
                    postgresql_where=LIVE_KIOSK, sqlite_where=LIVE_KIOSK)


def downgrade():
    op.drop_index('ix_login_sessions_kiosk_live', table_name='login_sessions')
