"""`tunnus` commands: the Flask CLI of create_app plus one click group per module."""
from __future__ import annotations

from flask.cli import FlaskGroup


def register(app) -> None:
    from . import audit, clients, config_docs, demo, keys, legacy, logouts, mail, orgs, users

    for module in (audit, clients, config_docs, demo, keys, legacy, logouts, mail, orgs, users):
        app.cli.add_command(module.group)
    from . import campaigns

    app.cli.add_command(campaigns.group)


def _create_app():
    from .. import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, help="Tunnus identity provider administration.")
