"""`tunnus config docs`: the README's configuration table, from config.py."""
import click

from .. import config

group = click.Group("config", help="Configuration.")


@group.command("docs")
def docs():
    click.echo(config.markdown_table())
