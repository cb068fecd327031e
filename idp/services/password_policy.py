"""What a new password must be: long enough, not common, not the person's own details.

The common-password list is zxcvbn's 30,000 most used passwords plus Finnish and Swedish
favourites. Every rule broken is reported, each saying what to change.
"""
from __future__ import annotations

import re
from functools import lru_cache

from flask import current_app
from flask_babel import gettext as _

from ..errors import ValidationFailed

MAX_LENGTH = 256
LOCAL_FAVOURITES = (
    "salasana", "salasana1", "salasana123", "salasana12345", "kissa123", "koira123", "perkele", "hyvää päivää",
    "lösenord", "lösenord1", "lösenord123", "hejsan123", "sommar2024", "kesä2024", "qwertyuiopå", "asdfghjklöä",
)


@lru_cache(maxsize=1)
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"]) | frozenset(LOCAL_FAVOURITES)


def problems(password: str, email: str = "", name: str = "") -> list[str]:
    minimum = current_app.config["IDP_PASSWORD_MIN_LENGTH"]
    found = []
    if len(password) < minimum:
        found.append(_("Use at least %(count)d characters (now %(length)d).", count=minimum, length=len(password)))
    if len(password) > MAX_LENGTH:
        found.append(_("Use at most %(count)d characters.", count=MAX_LENGTH))
    lowered = password.lower()
    # "dragon2024!" is as guessable as "dragon": attackers try common words plus digits.
    if lowered in _common() or lowered.rstrip("0123456789!.?#") in _common():
        found.append(_("This password is one of the most common ones; choose something others would not guess."))
    personal = [part for part in _personal_parts(email, name) if part in lowered]
    if personal:
        found.append(_("Do not use your email address or name in the password."))
    return found


class PasswordRejected(ValidationFailed):
    id = "password_rejected"

    def __init__(self, found: list[str]):
        super().__init__(" ".join(found))
        self.problems = found


def check(password: str, email: str = "", name: str = "") -> None:
    found = problems(password, email, name)
    if found:
        raise PasswordRejected(found)


def _personal_parts(email: str, name: str) -> list[str]:
    local = (email or "").lower().partition("@")[0]
    parts = re.split(r"[\s.\-_+]+", f"{local} {(name or '').lower()}")
    return [part for part in set(parts) | {local} if len(part) >= 3]
