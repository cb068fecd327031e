"""JSON read as RFC 8259 writes it, for what comes from outside and may be stored."""
from __future__ import annotations

import json
import math


def loads(text: str | bytes):
    """json.loads, but ValueError for NaN, Infinity and numbers beyond a double (1e400),
    which Python reads and PostgreSQL's json type refuses (a request or a command that
    stored one failed there), and for nesting deeper than Python can read."""
    try:
        return json.loads(text, parse_constant=_not_json, parse_float=_finite)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _not_json(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is beyond the range of a number")
    return value
