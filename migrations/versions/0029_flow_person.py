"""flows.person_id: the person a journey is about, kept beside its JSON, so that a person's
journeys are found by an index instead of by reading every live flow's JSON. On PostgreSQL
that read (`->>`) failed for everyone while one flow held a NUL or half a character.

The live flows are filled in here, their JSON read by Python; an expired one is never looked
for again. A flow an earlier instance starts during a rolling upgrade has none, so a change
of password made meanwhile does not end it; a login or email change among them still finds
the password changed when it goes on (services/journeys.py, password_version).

Revision ID: 0029_flow_person
Revises: 0028_session_keys
Create Date: 2026-12-04 12:00:00.000000

"""
import datetime as dt
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0029_flow_person'
down_revision = '0028_session_keys'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('flows') as batch_op:
        batch_op.add_column(sa.Column('person_id', sa.Integer(), nullable=True))
        batch_op.create_index('ix_flows_person_id', ['person_id'])
    flows = sa.table("flows", sa.column("id"), sa.column("data", sa.Text), sa.column("expires_at"),
                     sa.column("person_id"))
    bind = op.get_bind()
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    live = bind.execute(sa.select(flows.c.id, sa.cast(flows.c.data, sa.Text)).where(flows.c.expires_at > now))
    for flow_id, text in live.all():
        data = json.loads(text)
        person = data.get("identity_id") or data.get("owner_id")
        if person is not None:
            bind.execute(flows.update().where(flows.c.id == flow_id).values(person_id=person))


def downgrade():
    with op.batch_alter_table('flows') as batch_op:
        batch_op.drop_index('ix_flows_person_id')
        batch_op.drop_column('person_id')
