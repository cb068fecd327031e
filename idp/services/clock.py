"""The one source of time, so tests can move it.

Stored datetimes are naive UTC (SQLite keeps no zone); `now()` returns the same.
"""
from __future__ import annotations

import datetime as _dt
import time as _time

_offset = _dt.timedelta(0)


def now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None) + _offset


def timestamp() -> int:
    return int(_time.time() + _offset.total_seconds())


def to_timestamp(value: _dt.datetime) -> int:
    return int(value.replace(tzinfo=_dt.timezone.utc).timestamp())


def from_timestamp(value: int) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(value, _dt.timezone.utc).replace(tzinfo=None)


def advance(seconds: float) -> None:
    """Move time forward (tests only)."""
    global _offset
    _offset += _dt.timedelta(seconds=seconds)


def reset() -> None:
    global _offset
    _offset = _dt.timedelta(0)
