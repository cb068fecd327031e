"""The schema revision the code needs (schema_migrations.HEAD, read by /readyz in workers
that never load Alembic) is the last of migrations/, what they make is what the models
declare, and `tunnus db` finds them or says where it looked."""
from __future__ import annotations

from alembic.script import ScriptDirectory

from idp import schema_migrations


def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(schema_migrations.DIRECTORY))


def test_head_is_the_last_migration():
    assert _scripts().get_heads() == [schema_migrations.HEAD]


def test_revisions_are_numbered_in_order():
    # /readyz tells a schema behind from one ahead by the number.
    chain = [script.revision for script in _scripts().walk_revisions()][::-1]
    assert [schema_migrations.number(revision) for revision in chain] == list(range(1, len(chain) + 1))


def test_without_migrations_db_says_where_it_looked_never_init(app, runner, monkeypatch, tmp_path):
    monkeypatch.setattr(schema_migrations, "DIRECTORY", tmp_path / "migrations")
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 1
    assert f"no migrations in {tmp_path / 'migrations'}: run Tunnus from its checkout" in result.output
    assert "init" not in result.output


def test_db_offers_no_init(app, runner):
    result = runner.invoke(args=["db", "--help"])
    assert result.exit_code == 0 and "upgrade" in result.output
    assert " init " not in result.output
    assert runner.invoke(args=["db", "init"]).exit_code != 0


def test_the_migrated_schema_is_the_models_schema(app):
    """Every table, column, type, index and unique constraint the models declare is what
    migrations/ made (on SQLite and PostgreSQL alike): a model changed without its
    migration would otherwise surface only in production, as a missing index or a type."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from idp.extensions import db

    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                       db.metadata)
    assert differences == []
