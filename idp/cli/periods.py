"""Lengths of time typed at the command line: `30m`, `24h`, `7d`, `2w`."""
from __future__ import annotations

import datetime as dt
import re

import click

RELATIVE = re.compile(r"(\d+)\s*([smhdw])")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
# Far beyond anything Tunnus holds, and well within what a date can be counted back by.
LONGEST = dt.timedelta(days=36_500)


def duration(text: str, param: click.Parameter | None = None) -> dt.timedelta | None:
    """The length `text` names, or None when it is not one; longer than LONGEST is refused
    (a date that far back does not exist)."""
    match = RELATIVE.fullmatch(text.strip())
    if not match:
        return None
    number, unit = int(match.group(1)), UNITS[match.group(2)]
    if number > LONGEST / dt.timedelta(**{unit: 1}):
        raise click.BadParameter(f"{text!r}: at most 100 years ({LONGEST.days}d)", param=param)
    return dt.timedelta(**{unit: number})
