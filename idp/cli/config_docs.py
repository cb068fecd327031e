"""`tunnus config docs`: the README's configuration table, from config.py."""
from pathlib import Path

import click

from .. import config

group = click.Group("config", help="Configuration.")

BEGIN, END = "<!-- config:begin -->", "<!-- config:end -->"


@group.command("docs")
@click.option("--readme", type=click.Path(exists=True, dir_okay=False), help="Rewrite the table in this file.")
def docs(readme):
    """Print the IDP_* settings as the README's Markdown table, or rewrite it there (--readme)."""
    table = config.markdown_table()
    if not readme:
        click.echo(table)
        return
    path = Path(readme)
    text = path.read_text()
    head, begun, rest = text.partition(BEGIN)
    _, ended, tail = rest.partition(END)
    if not (begun and ended):  # without both the rest of the file would be lost
        raise click.ClickException(f"{readme} has no {BEGIN} ... {END} around its table")
    path.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")
