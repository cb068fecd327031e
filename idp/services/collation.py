"""Names in the order Finnish and Swedish readers look for them: case ignored, accents
ignored (é with e), and å, ä, ö as letters of their own after z, in that order (æ with ä,
ø with ö, ü with y, as both languages file them).

The databases' own collations do not give this: PostgreSQL's C.UTF-8 sorts by code point
(Ä before Å, lower case after upper) and SQLite's BINARY the same. PyICU would, but
needs the ICU library on every machine for three letters; pyuca's default table files
å, ä, ö under a and o.
"""
from __future__ import annotations

import re
import unicodedata

# Characters after "z" in code-point order, so the keys compare as the alphabet goes.
_OWN_LETTERS = {"å": "{", "ä": "|", "æ": "|", "ö": "}", "ø": "}", "ü": "y"}


def key(text: str) -> str:
    letters = []
    for char in unicodedata.normalize("NFC", (text or "").casefold()):
        own = _OWN_LETTERS.get(char)
        letters.append(own if own is not None else unicodedata.normalize("NFD", char)[0])
    return "".join(letters)


def natural_key(text: str) -> list:
    """As key, with the digits in a name compared as numbers: "A 2" before "A 12"."""
    # isdecimal, not isdigit: "²" and "③" are digits that int() cannot read (a 500 for the
    # whole resident list of a kiosk), and \d does not split at them either.
    return [(1, int(part), "") if part.isdecimal() else (0, 0, key(part)) for part in re.split(r"(\d+)", text or "")]


def by_name(items, name=lambda item: item.name) -> list:
    """`items` sorted by their names (ties by the name as written, so the order is stable)."""
    return sorted(items, key=lambda item: (key(name(item)), name(item)))
