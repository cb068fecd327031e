"""Names people read: a person's, an organisation's, a service's, a campaign's, a
member's on a kiosk's list."""
from __future__ import annotations

import unicodedata


def one_line(text: str | None) -> str:
    """`text` as a name is stored: its runs of spaces, tabs and line breaks one space, its
    ends trimmed, and its control characters dropped. A line break pasted with a name split
    the lines a command prints, and an escape sequence (one pasted from a terminal, or typed
    at registration on purpose) would recolour or clear an operator's terminal that lists it.
    Half a character (a lone surrogate, which JSON can carry) is dropped too: no database
    stores it."""
    return "".join(c for c in " ".join((text or "").split()) if unicodedata.category(c) not in ("Cc", "Cs"))
