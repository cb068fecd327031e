"""Printing for commands: a readable table for people, JSON with --json."""
from __future__ import annotations

import json
import time

import click

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


def emit(data, as_json: bool, text: str | None = None) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str))
    else:
        click.echo(text if text is not None else "\n".join(f"{k}: {v}" for k, v in data.items()))


def deliver_rounds(deliver_due, pending_count, loop: bool, interval: float, as_json: bool) -> None:
    """One delivery round, or with loop=True rounds until stopped (`mail send`, `logouts send`)."""
    while True:
        counts = deliver_due()
        if not loop:
            emit({**counts, "still_pending": pending_count()}, as_json)
            return
        if any(counts.values()):
            click.echo(", ".join(f"{outcome} {n}" for outcome, n in counts.items()))
        time.sleep(interval)
