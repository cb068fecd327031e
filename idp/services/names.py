"""Names people read: a person's, an organisation's, a service's, a campaign's, a
member's on a kiosk's list."""
from __future__ import annotations

import unicodedata

# The embeddings, overrides and isolates of Unicode's bidirectional algorithm (UAX #9):
# one in a name reverses the text after it on the page or terminal showing it ("Trojan
# Source", CVE-2021-42574), so a name could pass for another on a kiosk's list or an
# organisation's member table, or garble the sentence it stands in.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Format characters that show nothing and join nothing: a name of only these was stored as
# a blank one. The zero-width (non-)joiner (U+200C, U+200D) stay: some scripts' names and
# emoji need them.
INVISIBLE = frozenset("\u200b\u2060\ufeff")


def one_line(text: str | None) -> str:
    """`text` as a name is stored: its runs of spaces, tabs and line breaks one space, its
    ends trimmed, and its control characters dropped. A line break pasted with a name split
    the lines a command prints, and an escape sequence (one pasted from a terminal, or typed
    at registration on purpose) would recolour or clear an operator's terminal that lists it.
    Half a character (a lone surrogate, which JSON can carry) is dropped too: no database
    stores it. So are the bidirectional controls (BIDI_CONTROLS) and the INVISIBLE ones."""
    kept = "".join(c for c in text or "" if c.isspace() or not _unreadable(c))
    return " ".join(kept.split())


def _unreadable(c: str) -> bool:
    return unicodedata.category(c) in ("Cc", "Cs") or c in BIDI_CONTROLS or c in INVISIBLE
