"""`tunnus logouts send [--loop]`: deliver back-channel logout notifications, retrying
those the first attempt (right after the session ended) could not deliver."""
from __future__ import annotations

import click

from ..services import backchannel
from .output import deliver_rounds, json_option

group = click.Group("logouts", help="Back-channel logout notifications to relying services.")


@group.command("send")
@click.option("--loop", is_flag=True, help="Keep delivering until stopped.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between rounds with --loop.")
@json_option
def send(loop, interval, as_json):
    deliver_rounds(backchannel.deliver_due, backchannel.pending_count, loop, interval, as_json)
