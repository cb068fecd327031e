"""Printing for commands: a readable table for people, JSON with --json."""
from __future__ import annotations

import datetime as dt
import json
import logging
import time

import click

from ..extensions import DATABASE_UNAVAILABLE, db
from ..services import stopping
from ..services.keys import KeysUnavailable

log = logging.getLogger(__name__)
# What a loop did, a log line in IDP_LOG_FORMAT like its warnings: commands log only
# warnings, but a loop runs as a service whose log is read.
rounds_log = logging.getLogger("idp.cli.rounds")
rounds_log.setLevel(logging.INFO)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


class _Seconds(click.ParamType):
    """A wait between rounds: -1, nan or inf passed the float type, and the loop ended with
    a traceback after its first round."""
    name = "seconds"

    def convert(self, value, param, ctx):
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            seconds = None
        if seconds is None or not 0 < seconds <= 3600:  # nan fails every comparison
            self.fail(f"{value!r} is not a number of seconds from 0 to 3600, such as 5", param, ctx)
        return seconds


loop_option = click.option("--loop", is_flag=True, help="Keep delivering until stopped.")
interval_option = click.option("--interval", type=_Seconds(), default=5.0, show_default=True,
                               help="Seconds between rounds with --loop.")


MAX_REASON = 500


def reason(_ctx, _param, value: str | None) -> str | None:
    """A --reason is for the audit record: one of only spaces says nothing there, and one
    longer than MAX_REASON is refused rather than kept in part."""
    if value is None:
        return None
    if not value.strip():
        raise click.BadParameter("say why, for the audit record")
    if len(value.strip()) > MAX_REASON:
        raise click.BadParameter(f"say it in at most {MAX_REASON} characters, not {len(value.strip())}")
    return value.strip()


def _json_value(value):
    # Stored times are UTC without a zone: said so, in ISO 8601, a script must not read them
    # as local time.
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)).isoformat()
    return str(value)


def emit(data, as_json: bool, text: str | None = None) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, default=_json_value))
    else:
        click.echo(text if text is not None else "\n".join(f"{k}: {v}" for k, v in data.items()))


def deliver_rounds(deliver_due, pending_count, loop: bool, interval: float, as_json: bool) -> None:
    """One delivery round, or with loop=True rounds until stopped (`mail send`, `logouts send`).

    A loop outlives the database going away: the round is given up with a warning (what it
    had not committed is done again) and the next one tries again, so nothing waits for a
    restart of the loop. Ctrl-C or SIGTERM ends it without a row left in hand (stopping).
    Anything unforeseen ends it, for its supervisor to restart (README): a row whose sending
    ends the sender every time is given up after its attempts (leases.abandoned)."""
    with stopping.on_signals():
        try:
            _rounds(deliver_due, pending_count, loop, interval, as_json)
        except stopping.Stopped:
            if loop:
                rounds_log.info("stopped; nothing left in hand")
            else:
                click.echo("stopped; nothing left in hand", err=True)


def _rounds(deliver_due, pending_count, loop: bool, interval: float, as_json: bool) -> None:
    while True:
        if not loop:
            emit({**deliver_due(), "still_pending": pending_count()}, as_json)
            return
        try:
            counts = deliver_due()
        except DATABASE_UNAVAILABLE as error:
            db.session.remove()  # its connection is gone; the pool makes a new one
            log.warning("database unavailable, next round in %s s: %s", interval, error)
        except KeysUnavailable as error:  # logout tokens are signed; the row claimed goes back, due
            db.session.rollback()
            log.warning("signing keys unavailable, next round in %s s: %s", interval, error)
        else:
            if any(counts.values()):
                rounds_log.info("round: %s", ", ".join(f"{outcome} {n}" for outcome, n in counts.items()),
                                extra={"counts": counts})
        with stopping.interruptible():
            time.sleep(interval)
