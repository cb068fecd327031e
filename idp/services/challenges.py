"""One-time proofs sent by mail: a 6-digit code and a link token, either one works.

Only keyed hashes are stored (HMAC with the app secret: a 6-digit code's plain hash
could be reversed by trying all million). A challenge is single use, expires, and is
void after too many wrong codes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from ..errors import IdpError
from . import clock, secrets_box
from .digits import ascii_digits

MAX_WRONG_CODES = 5


class CodeRejected(IdpError):
    """A wrong (or used up) emailed code; the page says how many tries are left."""
    id = "code_rejected"

    def __init__(self, attempts_left: int):
        super().__init__()
        self.attempts_left = attempts_left


def _digest(value: str, key: bytes) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def _matches(stored: str, value: str) -> bool:
    """Under the current secret or a fallback: a code mailed before the secret changed works."""
    return any([hmac.compare_digest(stored, _digest(value, key)) for key in secrets_box.secret_keys()])


def issue(ttl_seconds: int) -> tuple[str, str, dict]:
    """A new (code, link_token, record); store the record, mail the code and token."""
    code = f"{secrets.randbelow(10**6):06d}"
    token = secrets.token_urlsafe(32)
    key = secrets_box.secret_keys()[0]
    record = {
        "code": _digest(code, key),
        "token": _digest(token, key),
        "expires_at": clock.to_timestamp(clock.now() + dt.timedelta(seconds=ttl_seconds)),
        "wrong": 0,
        "used": False,
    }
    return code, token, record


def usable(record: dict | None) -> bool:
    return bool(record) and not record["used"] and record["wrong"] < MAX_WRONG_CODES \
        and record["expires_at"] > clock.timestamp()


def redeem_code(record: dict, code: str) -> tuple[bool, dict]:
    """(accepted, updated record). A wrong code counts towards the limit."""
    if not usable(record):
        return False, record
    if _matches(record["code"], ascii_digits((code or "").strip().replace(" ", ""))):
        return True, {**record, "used": True}
    return False, {**record, "wrong": record["wrong"] + 1}


def token_matches(record: dict | None, token: str) -> bool:
    """Would redeem_token accept it? Answers without using it up (for a confirm page)."""
    return usable(record) and bool(token) and _matches(record["token"], token)


def redeem_token(record: dict, token: str) -> tuple[bool, dict]:
    if token_matches(record, token):
        return True, {**record, "used": True}
    return False, record


def attempts_left(record: dict) -> int:
    return max(0, MAX_WRONG_CODES - record["wrong"])
