"""`tunnus config docs`: the README's configuration table, from config.py."""
from pathlib import Path

import click

from .. import config
from . import text_arguments
from .output import emit, json_option

group = text_arguments.Group("config", help="Configuration.")

BEGIN, END = "<!-- config:begin -->", "<!-- config:end -->"


@group.command("docs")
@click.option("--readme", type=click.Path(exists=True, dir_okay=False), help="Rewrite the table in this file.")
@json_option
def docs(readme, as_json):
    """Print the IDP_* settings as the README's Markdown table (or as JSON), or rewrite the table in a file."""
    if as_json:
        if readme:
            raise click.UsageError("--json prints the settings; --readme rewrites a file: one of them")
        emit([{"name": s.name, "default": s.default, "doc": s.doc} for s in config.SETTINGS], True)
        return
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
