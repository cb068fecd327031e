"""`tunnus mail send [--loop]`: deliver the outbox."""
from __future__ import annotations

import time

import click

from ..services import mail
from .output import emit, json_option

group = click.Group("mail", help="Outgoing mail.")


@group.command("send")
@click.option("--loop", is_flag=True, help="Keep delivering until stopped.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between rounds with --loop.")
@json_option
def send(loop, interval, as_json):
    while True:
        counts = mail.deliver_due()
        if not loop:
            emit({**counts, "still_pending": mail.pending_count()}, as_json)
            return
        if any(counts.values()):
            click.echo(f"sent {counts['sent']}, logged {counts['logged']}, retrying {counts['pending']}, failed {counts['failed']}")
        time.sleep(interval)
