"""An id given from outside (a URL, a command's argument) as a row's primary key."""
from __future__ import annotations

# The largest value of PostgreSQL's integer (int4), the type of every id. A query with a
# bigger one is refused by PostgreSQL (and answered by SQLite), not merely unmatched.
LARGEST = 2**31 - 1


def parse(value) -> int | None:
    """The id `value` spells, or None if no row can have it: not digits, or beyond the range."""
    text = str(value)
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number <= LARGEST else None
