"""Finnish business ids (Y-tunnus): seven digits, a hyphen and a check digit."""
from __future__ import annotations

import re

from .digits import ascii_digits

WEIGHTS = (7, 9, 10, 5, 8, 4, 2)


def normalise(value: str) -> str | None:
    """The canonical '1234567-1' form, or None when the id is malformed or its check digit wrong."""
    match = re.fullmatch(r"([0-9]{6,7})-([0-9])", ascii_digits((value or "").strip()))
    if not match:
        return None
    digits, check = match.group(1).zfill(7), int(match.group(2))
    remainder = sum(int(d) * w for d, w in zip(digits, WEIGHTS)) % 11
    if remainder == 1:
        return None  # no valid check digit exists for such numbers
    expected = 0 if remainder == 0 else 11 - remainder
    return f"{digits}-{check}" if check == expected else None
