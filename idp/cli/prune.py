"""`tunnus prune [--older-than 1d]`: delete expired flows, codes, pushed requests, tokens, sessions,
invitations and used client assertion ids (services/retention.py). Run it from cron, e.g. hourly."""
from __future__ import annotations

import datetime as dt

import click

from ..services import retention
from .output import emit, json_option
from .periods import duration


def _duration(_ctx, param, value: str) -> dt.timedelta:
    length = duration(value, param)
    if length is None:
        raise click.BadParameter(f"{value!r}: use a number and s, m, h, d or w, e.g. 30m, 12h, 1d", param=param)
    return length


@click.command("prune", help="Delete flows, authorization codes, pushed authorization requests, tokens, "
                                "browser sessions, invitations and used client assertion ids past their end; audit "
                                "records, sent mail and logout notifications older than IDP_AUDIT_RETENTION_DAYS.")
@click.option("--older-than", default="1d", show_default=True, callback=_duration,
              help="Keep what ended more recently than this (30m, 12h, 1d, 2w).")
@json_option
def group(older_than, as_json):
    counts = retention.prune(older_than)
    emit(counts, as_json, "\n".join(f"{table:<22} {n:>8} deleted" for table, n in counts.items()))
