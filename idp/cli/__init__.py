"""`tunnus` commands: the Flask CLI of create_app plus one click group per module."""
from __future__ import annotations

from flask.cli import FlaskGroup


def register(app) -> None:
    from . import (audit, campaigns, clients, config_docs, demo, keys, legacy, logouts, mail, orgs, prune, secrets,
                   upstreams, users)

    for module in (audit, clients, config_docs, demo, keys, legacy, logouts, mail, orgs, prune, secrets, upstreams,
                   users, campaigns):
        app.cli.add_command(module.group)


def _create_app():
    import logging

    from .. import create_app

    app = create_app()
    # A command's output is its report; its audit records are in the database. Log lines
    # at INFO (one per audit event) would bury a terminal, e.g. an import's progress bar.
    logging.getLogger().setLevel(logging.WARNING)
    return app


main = FlaskGroup(create_app=_create_app, help="Tunnus identity provider administration.")
