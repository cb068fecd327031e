"""Lengths of time typed at the command line: `30m`, `24h`, `7d`, `2w`."""
from __future__ import annotations

import datetime as dt
import re

RELATIVE = re.compile(r"(\d+)\s*([smhdw])")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def duration(text: str) -> dt.timedelta | None:
    """The length `text` names, or None when it is not one."""
    match = RELATIVE.fullmatch(text.strip())
    return dt.timedelta(**{UNITS[match.group(2)]: int(match.group(1))}) if match else None
