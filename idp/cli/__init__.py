"""`tunnus` commands: the Flask CLI of create_app plus one click group per module."""
from __future__ import annotations

import functools
import logging
import os

import click
from flask.cli import FlaskGroup, ScriptInfo

from .. import logging_setup, schema_migrations
from ..config import ConfigurationError
from ..extensions import DATABASE_UNAVAILABLE
from ..services.keys import KeysUnavailable


def register(app) -> None:
    from . import (audit, campaigns, clients, config_docs, demo, keys, legacy, logouts, mail, orgs, prune, secrets,
                   upstreams, users)

    for module in (audit, clients, config_docs, demo, keys, legacy, logouts, mail, orgs, prune, secrets, upstreams,
                   users, campaigns):
        app.cli.add_command(module.group)
    app.cli.add_command(schema_migrations.Commands(app))


# Commands that make the signing keys or use none: they run where there are none yet.
WITHOUT_KEYS = ("keys", "db", "config")


def _create_app(keys_required: bool = True):
    import logging

    from .. import create_app

    # A command may well run longer statements than a web request (an import, a prune).
    app = create_app({"IDP_DATABASE_STATEMENT_TIMEOUT": 0}, keys_required=keys_required)
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
        # Flask's development server: production and `make run` serve with serve.py (granian).
        self.commands.pop("run")
        click.version_option(package_name="tunnus", message="Tunnus %(version)s")(self)

    def resolve_command(self, ctx, args):
        # The app is made when the command is looked up: say first whether it needs keys.
        ctx.ensure_object(ScriptInfo).create_app = functools.partial(_create_app, args[0] not in WITHOUT_KEYS)
        return super().resolve_command(ctx, args)

    def list_commands(self, ctx):
        # Listing them (--help) signs nothing; a setting the app cannot start with is one line.
        info = ctx.ensure_object(ScriptInfo)
        info.create_app = functools.partial(_create_app, False)
        try:
            info.load_app()
        except ConfigurationError as error:
            refuse(error)
        return super().list_commands(ctx)

    def invoke(self, ctx):
        """A database that does not answer, or a setting the app cannot start with, is a
        one-line error for every command, not a traceback."""
        try:
            return super().invoke(ctx)
        except DATABASE_UNAVAILABLE as error:
            raise click.ClickException(f"database unavailable: {getattr(error, 'orig', None) or error}") from None
        except KeysUnavailable as error:  # the keys folder gone while the command ran
            raise click.ClickException(str(error)) from None
        except ConfigurationError as error:
            refuse(error)


def refuse(error: ConfigurationError):
    """Exit with the error as one line: a JSON log line with IDP_LOG_FORMAT=json (where log
    collectors read it), else as click says errors."""
    if os.environ.get("IDP_LOG_FORMAT") == "json":
        record = logging.LogRecord("tunnus", logging.ERROR, __file__, 0, str(error), None, None)
        click.echo(logging_setup.JsonLines().format(record), err=True)
        raise SystemExit(1)
    raise click.ClickException(str(error))


main = _Commands(create_app=_create_app, help="Tunnus identity provider administration.")
