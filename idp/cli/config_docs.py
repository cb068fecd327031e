"""`tunnus config docs`: the README's configuration table, from config.py."""
import os
import stat
import tempfile
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
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{click.format_filename(readme)} is not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise click.ClickException(f"cannot read {click.format_filename(readme)}: {error.strerror}") from None
    head, begun, rest = text.partition(BEGIN)
    _, ended, tail = rest.partition(END)
    if not (begun and ended):  # without both the rest of the file would be lost
        raise click.ClickException(f"{click.format_filename(readme)} has no {BEGIN} ... {END} around its table")
    _replace(path, f"{head}{BEGIN}\n{table}\n{END}{tail}")


def _replace(path: Path, text: str) -> None:
    """Writes beside the file and renames over it, so a full disk leaves the file as it was."""
    path = path.resolve()  # a link stays a link to the rewritten file
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except OSError as error:
        if tmp:
            os.unlink(tmp)
        raise click.ClickException(f"cannot write {click.format_filename(str(path))}: {error.strerror}") from None
