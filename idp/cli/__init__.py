"""`tunnus` commands: the Flask CLI of create_app plus one click group per module."""
from __future__ import annotations

import click
from flask.cli import FlaskGroup

from .. import schema_migrations
from ..extensions import DATABASE_UNAVAILABLE


def register(app) -> None:
    from . import (audit, campaigns, clients, config_docs, demo, keys, legacy, logouts, mail, orgs, prune, secrets,
                   upstreams, users)

    for module in (audit, clients, config_docs, demo, keys, legacy, logouts, mail, orgs, prune, secrets, upstreams,
                   users, campaigns):
        app.cli.add_command(module.group)
    app.cli.add_command(schema_migrations.Commands(app))


def _create_app():
    import logging

    from .. import create_app

    # A command may well run longer statements than a web request (an import, a prune).
    app = create_app({"IDP_DATABASE_STATEMENT_TIMEOUT": 0})
    # A command's output is its report; its audit records are in the database. Log lines
    # at INFO (one per audit event) would bury a terminal, e.g. an import's progress bar.
    logging.getLogger().setLevel(logging.WARNING)
    return app


class _Commands(FlaskGroup):
    def __init__(self, **extra):
        # Tunnus's version, not Flask's; no .env files (python-dotenv is not installed, and
        # settings come from the environment); the app is always create_app's, in the mode its
        # settings give: so neither --env-file, --app nor --debug.
        super().__init__(add_version_option=False, load_dotenv=False, **extra)
        self.params = [param for param in self.params if param.name not in ("env_file", "app", "debug")]
        click.version_option(package_name="tunnus", message="Tunnus %(version)s")(self)

    def invoke(self, ctx):
        """A database that does not answer is a one-line error for every command, not a traceback."""
        try:
            return super().invoke(ctx)
        except DATABASE_UNAVAILABLE as error:
            raise click.ClickException(f"database unavailable: {getattr(error, 'orig', None) or error}") from None


main = _Commands(create_app=_create_app, help="Tunnus identity provider administration.")
