"""`tunnus legacy import|allow-import`: bring in the accounts of an old system."""
from __future__ import annotations

import os
import sys
import time

import click

from ..errors import IdpError
from ..services import legacy_import
from . import text_arguments
from .output import emit, json_option, reason

group = text_arguments.Group("legacy", help="Accounts of the old per-service systems.")


@group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--system", required=True, help="Name of the old system, e.g. kirjasto (a-z, 0-9, . _ -).")
@click.option("--format", "fmt", type=click.Choice(legacy_import.FORMATS), default=None,
              help="Row format; default: csv for a .csv file, else jsonl.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, writable=True),
              help="Write the full report (JSON) to this file.")
@click.option("--dry-run", is_flag=True, help="Check the whole file and report; change nothing.")
@click.option("--batch-size", type=click.IntRange(1, 50_000), default=legacy_import.BATCH_SIZE, show_default=True,
              help="Rows per transaction.")
@json_option
def import_(file, system, fmt, report_path, dry_run, batch_size, as_json):
    """Import FILE (JSON Lines or CSV); running it again changes nothing."""
    if report_path:
        _check_writable(report_path)
    bars = _Bars() if sys.stderr.isatty() and not as_json else None
    try:
        report = legacy_import.run(file, system, fmt=fmt, dry_run=dry_run, batch_size=batch_size, progress=bars)
    except IdpError as error:
        raise click.ClickException(str(error))
    finally:
        if bars:
            bars.close()
    if report_path:
        try:
            with open(report_path, "w", encoding="utf-8") as out:
                report.write_json(out)
        except OSError as error:  # a full disk, or a file that takes nothing (/dev/full, /proc/...)
            click.echo(report.text(), err=True)
            done = "the dry run changed nothing" if dry_run else "the import was done, as the summary above says"
            raise click.ClickException(f"cannot write the report to {report_path}: {error.strerror}; {done}") from None
    if as_json:
        report.write_json(sys.stdout)
    else:
        click.echo(report.text())
        if report_path:
            click.echo(f"Full report: {report_path}")


def _check_writable(path: str) -> None:
    """Refuses a report file that could not be written, before the import it would report
    on is committed (and its report lost)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise click.BadParameter(f"no folder {folder}", param_hint="--report")
    if not os.access(path if os.path.exists(path) else folder, os.W_OK):
        raise click.BadParameter(f"cannot write {path}", param_hint="--report")


@group.command("allow-import")
@click.option("--email", required=True, help="The address of the account that was deleted.")
@click.option("--reason", required=True, callback=reason,
              help="Why, for the audit record (e.g. the person's request and its ticket).")
@json_option
def allow_import(email, reason, as_json):
    """Let imports bring back the old accounts of a person who had their account deleted
    and now asks for them back (e.g. having registered again): from the next import their
    rows are no longer skipped as deleted at the person's request."""
    from ..services import erasures
    from ..services.audit import SYSTEM

    subs = erasures.lift(email, origin=SYSTEM, reason=reason)
    if not subs:
        raise click.ClickException(f"No account with the email address {email} was deleted at the person's request "
                                   "(or its old accounts may already be imported again).")
    emit({"email": email, "deleted_subs": subs, "import_allowed": True}, as_json,
         f"the old accounts of {email} (deleted sub {', '.join(subs)}) will be imported again by the next import")


class _Bars:
    """A progress bar on stderr: share of the file read, rows, rows/s, time left."""

    def __init__(self):
        self.bar = None
        self.position = 0
        self.started = time.monotonic()

    def __call__(self, position: int, size: int, rows: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=max(size, 1), label="Importing", file=sys.stderr, show_eta=True,
                                         item_show_func=self._rows)
            self.bar.__enter__()
        self.bar.update(position - self.position, rows)
        self.position = position

    def _rows(self, rows: int | None) -> str | None:
        if not rows:
            return None
        return f"{rows:,} rows, {rows / max(time.monotonic() - self.started, 1e-6):,.0f} rows/s"

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
