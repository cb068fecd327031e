"""Times and durations as pages and mail put them to people, in their language.

Templates use them as filters of the same names (the app factory adds them). Stored
times are naive UTC; people read them in IDP_TIMEZONE. A mail may be read anywhere and
long after, so there a time names its offset from UTC.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_timezone_gmt
from flask import current_app
from flask_babel import format_timedelta, get_locale

# (unit, its seconds, the shortest duration said in it), largest first: a duration is said
# in the largest unit that divides it exactly; a day reads as 24 hours, as codes are told.
_UNITS = (("day", 86400, 2 * 86400), ("hour", 3600, 3600), ("minute", 60, 60), ("second", 1, 0))


def _local(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(current_app.config["IDP_TIMEZONE"]))


def local_time(value: dt.datetime, with_offset: bool = False) -> str:
    """Not Flask-Babel's datetimeformat, which would say UTC. `with_offset` adds "(UTC+02:00)"."""
    local, locale = _local(value), str(get_locale())
    shown = f"{format_date(local, 'medium', locale=locale)} {format_time(local, 'short', locale=locale)}"
    return f"{shown} ({get_timezone_gmt(local, 'long', locale=locale)})" if with_offset else shown


def local_date(value: dt.datetime) -> str:
    return format_date(_local(value), "long", locale=str(get_locale()))


def duration(seconds: int | dt.timedelta) -> str:
    """"24 hours", "30 minuuttia", "1 timme": exact, so 90 minutes never reads "2 hours"
    (Babel's own rounding would, and the code would stop working before the mail said)."""
    seconds = int(seconds.total_seconds() if isinstance(seconds, dt.timedelta) else seconds)
    unit = next(name for name, size, shortest in _UNITS if seconds >= shortest and seconds % size == 0)
    return format_timedelta(dt.timedelta(seconds=seconds), granularity=unit, threshold=float("inf"))
