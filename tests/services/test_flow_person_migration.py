"""Migration 0029: the journeys under way when it runs are found by their person afterwards,
so a change of password or "log out other devices" right after the upgrade ends them, as it
did before it; an expired one and one about nobody are left as they were."""
import datetime as dt
import json

import sqlalchemy as sa

from idp import create_app, schema_migrations
from idp.extensions import db
from idp.models import Flow
from idp.services import clock, journeys


def _flow(conn, id_, data, *, minutes):
    conn.execute(sa.text(
        "INSERT INTO flows (id, kind, state, data, browser, created_at, expires_at) "
        "VALUES (:id, 'login', 'second_factor', :data, 'b', :now, :expires)"),
        {"id": id_, "data": json.dumps(data), "now": clock.now(),
         "expires": clock.now() + dt.timedelta(minutes=minutes)})


def test_journeys_under_way_at_the_upgrade_end_with_their_person_after_it(base_config, migrated, tmp_path):
    app = create_app({**base_config, "IDP_DATABASE_URL": f"sqlite:///{tmp_path / 'before.sqlite3'}"})
    with app.app_context():
        schema_migrations.upgrade("0028_session_keys")
        with db.engine.begin() as conn:
            _flow(conn, "parked", {"identity_id": 7, "name": "Virt\u0000anen"}, minutes=30)
            _flow(conn, "owners-code", {"identity_id": None, "owner_id": 7}, minutes=30)
            _flow(conn, "someone-else", {"identity_id": 8}, minutes=30)
            _flow(conn, "anonymous", {"email": "maija@example.fi"}, minutes=30)
            _flow(conn, "expired", {"identity_id": 7}, minutes=-1)
        schema_migrations.upgrade()

        journeys.end_about(7, because=journeys.SIGNED_OUT)
        db.session.commit()
        ended = {flow.id: flow.ended_because for flow in Flow.query if flow.is_expired()}
        assert ended == {"parked": "signed_out", "owners-code": "signed_out", "expired": None}
        db.session.remove()
        db.engine.dispose()
