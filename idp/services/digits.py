"""Digits as people type them. Phone keyboards in Arabic, Persian, Hindi and other
languages type their own digits (١٢٣, ۱۲۳, १२३), and some input methods fullwidth ones
(１２３); they mean the same numbers, so codes, phone numbers and business ids read
them as 0-9 rather than refusing them or storing a second spelling of the same number.
Checks after this match [0-9], never \\d (which accepts every script's digits)."""
from __future__ import annotations

import re
import unicodedata


def ascii_digits(text: str) -> str:
    """`text` with every decimal digit (Unicode category Nd) as its ASCII one."""
    return "".join(str(unicodedata.decimal(ch, ch)) for ch in text or "")  # a non-digit stays itself


def readable(code: str) -> str:
    """A mailed 6-digit code as the mail shows it, "123 456": read and typed in two halves
    (emailed_code takes it back with or without the space)."""
    return f"{code[:3]} {code[3:]}"


def emailed_code(typed: str | None) -> str | None:
    """A mailed 6-digit code as typed (spaces, any script's digits), or None when it has
    not the shape of one: a slip told as such, not counted as a wrong code."""
    code = ascii_digits(re.sub(r"\s", "", typed or ""))
    return code if re.fullmatch(r"[0-9]{6}", code) else None
