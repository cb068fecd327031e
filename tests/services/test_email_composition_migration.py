"""Migration 0026: addresses stored decomposed (NFD) before Tunnus composed them are
rewritten composed, so the address typed on a keyboard finds them; two identities whose
addresses are one when composed are left as they are, and named, never merged."""
import logging

import sqlalchemy as sa

from idp import create_app, schema_migrations
from idp.extensions import db
from idp.models import Identity

DECOMPOSED = "sa\u0308vel.ma\u0308kinen@example.fi"
COMPOSED = "s\u00e4vel.m\u00e4kinen@example.fi"


def _identity(conn, id_, email, normalized):
    conn.execute(sa.text(
        "INSERT INTO identities (id, sub, email, email_normalized, email_verified, name, failed_logins, "
        "is_operator, created_at, updated_at) VALUES (:id, :sub, :email, :normalized, false, '', 0, false, "
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"),
        {"id": id_, "sub": f"00000000-0000-0000-0000-00000000000{id_}", "email": email, "normalized": normalized})


def test_decomposed_addresses_are_composed_and_two_identities_for_one_address_are_left_apart(
        base_config, migrated, tmp_path, caplog):
    app = create_app({**base_config, "IDP_DATABASE_URL": f"sqlite:///{tmp_path / 'before.sqlite3'}"})
    with app.app_context():
        schema_migrations.upgrade("0025_erasures")
        with db.engine.begin() as conn:
            _identity(conn, 1, "Sa\u0308vel.Ma\u0308kinen@example.fi", DECOMPOSED)  # imported from an NFD export
            _identity(conn, 2, "ja\u0308rvi@example.fi", "ja\u0308rvi@example.fi")
            _identity(conn, 3, "j\u00e4rvi@example.fi", "j\u00e4rvi@example.fi")  # registered, composed
        with caplog.at_level(logging.WARNING, logger="alembic.runtime.migration"):
            schema_migrations.upgrade()

        assert Identity.by_email(COMPOSED).id == 1
        assert db.session.get(Identity, 1).email == "S\u00e4vel.M\u00e4kinen@example.fi"
        assert db.session.get(Identity, 2).email_normalized == "ja\u0308rvi@example.fi"  # not merged
        assert Identity.by_email("J\u00c4RVI@example.fi").id == 3
        assert "(2, 3)" in caplog.text
        db.session.remove()
        db.engine.dispose()
