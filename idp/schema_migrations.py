"""Alembic migrations (migrations/) through Flask-Migrate, loaded only where they run.

Importing Flask-Migrate loads Alembic and Mako (and Pygments where pytest brought it):
12 MB and 145 modules in every worker, which serves requests and never migrates (README,
*Performance*). So the app gets a `db` command group that sets Flask-Migrate up when a
`tunnus db ...` command runs, and tests migrate through `upgrade`.

Tunnus runs from its checkout (README, *Running in production*): migrations/ is beside
the package, not inside it, so an install into site-packages has none to run.
"""
from __future__ import annotations

import copy
from pathlib import Path

import click
from flask import current_app

DIRECTORY = Path(__file__).resolve().parent.parent / "migrations"
# The revision this code needs, the last of migrations/ (tests/test_schema_head.py checks
# they agree): /readyz compares the database's with it, in workers that never load Alembic.
# Revision ids are numbered in order (NNNN_name), so the number tells behind from ahead.
HEAD = "0029_flow_person"


def number(revision: str) -> int:
    return int(revision.split("_", 1)[0])


def _enable(app):
    """Flask-Migrate on app (app.extensions['migrate'], which migrations/env.py reads); its commands."""
    from flask_migrate import Migrate
    from flask_migrate.cli import db as commands

    from .extensions import db

    if not (DIRECTORY / "env.py").is_file():
        # Not Alembic's "use the 'init' command": a new, empty migrations folder would
        # migrate nothing, and the app would then fail on every page.
        raise click.ClickException(f"no migrations in {DIRECTORY}: run Tunnus from its checkout, installed there with "
                                   "pip install -e '.[serve,postgres]' (README, Running in production)")
    if "migrate" not in app.extensions:
        Migrate(app, db, directory=str(DIRECTORY), render_as_batch=True)
    # `init` would start an empty migrations folder: never what an operator needs.
    group = copy.copy(commands)
    group.commands = {name: command for name, command in commands.commands.items() if name != "init"}
    return group


def upgrade(revision: str = "head") -> None:
    """The current app's database migrated to the latest revision (or to `revision`, for
    tests of a migration that changes data)."""
    import flask_migrate

    _enable(current_app._get_current_object())
    flask_migrate.upgrade(revision=revision)


class Commands(click.Group):
    """`tunnus db ...`: hands itself over to Flask-Migrate's `db` group when it is used."""

    def __init__(self, app) -> None:
        super().__init__("db", help="Perform database migrations (Alembic, migrations/).")
        self._app = app

    def make_context(self, info_name, args, parent=None, **extra):
        return _enable(self._app).make_context(info_name, args, parent=parent, **extra)
