"""Each release's migrations leave the release before it working (README, *Upgrading*):
`tunnus db upgrade` runs while the earlier instances still serve. A migration may add
tables, indexes, nullable columns and columns with a server default; it may not take a
table or column away (the earlier code's queries name it) nor add one NOT NULL without a
server default (the earlier code's INSERTs leave it out). The migrations made before this
rule that break it are listed, with what each breaks: an upgrade across one of them stops
every instance first."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from idp import create_app, schema_migrations
from idp.extensions import db

BREAKING = {
    "0016_refresh_scope": ["tokens.refresh_scope added NOT NULL without a server default"],
}


def _schema(engine) -> dict[str, dict[str, tuple[bool, bool]]]:
    """{table: {column: (nullable, has a server default)}}"""
    inspector = sa.inspect(engine)
    return {table: {column["name"]: (column["nullable"], column.get("default") is not None)
                    for column in inspector.get_columns(table)}
            for table in inspector.get_table_names() if table != "alembic_version"}


def _breaks(before: dict, after: dict) -> list[str]:
    found = [f"{table} dropped" for table in before if table not in after]
    for table, columns in after.items():
        if table not in before:
            continue
        found += [f"{table}.{name} dropped" for name in before[table] if name not in columns]
        found += [f"{table}.{name} added NOT NULL without a server default"
                  for name, (nullable, has_default) in columns.items()
                  if name not in before[table] and not nullable and not has_default]
        found += [f"{table}.{name} made NOT NULL without a server default"
                  for name, (nullable, has_default) in columns.items()
                  if before[table].get(name, (False,))[0] and not nullable and not has_default]
    return found


def test_every_migration_keeps_the_release_before_it_working(base_config, migrated, tmp_path):
    chain = [script.revision for script in ScriptDirectory(str(schema_migrations.DIRECTORY)).walk_revisions()][::-1]
    app = create_app({**base_config, "IDP_DATABASE_URL": f"sqlite:///{tmp_path / 'upgraded.sqlite3'}"})
    found = {}
    with app.app_context():
        before = None
        for revision in chain:
            schema_migrations.upgrade(revision)
            after = _schema(db.engine)
            if before is not None and _breaks(before, after):
                found[revision] = _breaks(before, after)
            before = after
        db.engine.dispose()
    assert found == BREAKING
