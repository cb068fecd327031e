"""Recovery codes: ten single-use codes that stand in for the second factor (the TOTP app
or a passkey), shown once. They come with the first second factor and go with the last.

Stored as HMAC-SHA256 under a key derived from IDP_SECRET_KEY, not argon2: each code
is random with 60 bits, so a slow hash adds little against guessing, while argon2
would cost up to ten password hashes per attempt (one per unused code) and make this
step a cheap way to load the server. The key keeps a copy of the database alone useless.
"""
from __future__ import annotations

import secrets

from ..extensions import db
from ..models import RecoveryCode
from ..services import clock, secrets_box
from ..services.digits import ascii_digits

COUNT = 10
# No 0/o or 1/l/i: the codes are read off paper and typed by hand.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
LENGTH = 12


def _normalise(code: str) -> str:
    return "".join(ch for ch in ascii_digits(code).lower() if ch.isalnum())[:64]


def _hash(code: str) -> str:
    return secrets_box.keyed_hash(_normalise(code), secrets_box.RECOVERY_CODES)


def _hashes(code: str) -> list[str]:
    """Under the current secret and its fallbacks: codes made before it changed still work."""
    return secrets_box.keyed_hashes(_normalise(code), secrets_box.RECOVERY_CODES)


def _new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, LENGTH, 4))


def replace(identity, count: int = COUNT) -> list[str]:
    """Void every earlier code and issue `count` new ones; the caller commits."""
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.identity_id == identity.id))
    codes = [_new_code() for _ in range(count)]
    db.session.add_all(RecoveryCode(identity_id=identity.id, code_hash=_hash(code)) for code in codes)
    return codes


def issue_unless_held(identity) -> list[str]:
    """New codes for someone taking up a second factor, unless they still hold unused ones
    (from the other factor): those stay valid and nothing new is shown. The caller commits."""
    return [] if left(identity) else replace(identity)


def use(identity, code: str) -> bool:
    """Use up the code if it is one of this person's unused ones. One statement, so the
    same code sent twice at once is accepted only once."""
    if len(_normalise(code)) != LENGTH:
        return False
    return db.session.execute(
        db.update(RecoveryCode)
        .where(RecoveryCode.identity_id == identity.id, RecoveryCode.code_hash.in_(_hashes(code)),
               RecoveryCode.used_at.is_(None))
        .values(used_at=clock.now())
    ).rowcount == 1


def left(identity) -> int:
    return db.session.execute(
        db.select(db.func.count(RecoveryCode.id))
        .where(RecoveryCode.identity_id == identity.id, RecoveryCode.used_at.is_(None))
    ).scalar_one()
