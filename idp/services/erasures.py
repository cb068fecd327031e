"""Erasures: a person who had their account deleted is not brought back by an import.

Deleting an account (account_deletion.py) deletes the old systems' accounts merged into
it, but the old systems still export them: importing such a file again would make a new
identity with the person's name, phone and email, and their old password would open it.
So the deletion leaves an erasure: keyed hashes (HMAC-SHA256, a key derived from
IDP_SECRET_KEY) of what an import recognises them by — their normalised email, and per
old account its system with its legacy id and with its login name — and never the data
itself (GDPR Art. 17). The import skips a row any of whose keys is erased and reports it.

Only imports look here: the person may register again themselves. If they then ask for
their old accounts back, an operator lifts the erasure (`tunnus legacy allow-import`).
Hashes made under an IDP_SECRET_KEY still listed in IDP_SECRET_KEY_FALLBACKS match too.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Iterable

import sqlalchemy as sa

from ..extensions import db
from ..models import Erasure, Identity, LegacyAccount
from ..models.identity import normalise_email
from . import audit, clock, secrets_box
from .audit import Origin
from .identities import valid_email

ERASURES = b"tunnus erasures"
erasures = Erasure.__table__
# Stays under SQLite's limit of bound parameters per statement.
_CHUNK = 5_000


def email_key(email_normalized: str) -> str:
    return f"email:{email_normalized}"


def account_keys(system: str, legacy_id: str, login_normalized: str) -> tuple[str, str]:
    return f"account:{system}\x1f{legacy_id}", f"login:{system}\x1f{login_normalized}"


def record(identity: Identity) -> int:
    """Leave the erasure of this identity, before it and its old accounts are deleted: the
    caller's commit stores it with the deletion. How many keys it holds."""
    keys = {email_key(identity.email_normalized)}
    for system, legacy_id, login, email in db.session.execute(
            db.select(LegacyAccount.system, LegacyAccount.legacy_id, LegacyAccount.login_name_normalized,
                      LegacyAccount.email).where(LegacyAccount.identity_id == identity.id)):
        keys.update(account_keys(system, legacy_id, login))
        if email and valid_email(email):  # the old system's address, if the person changed theirs since
            keys.add(email_key(normalise_email(email)))
    now = clock.now()
    for plain in sorted(keys):
        db.session.add(Erasure(key_hash=secrets_box.keyed_hash(plain, ERASURES), sub=identity.sub, deleted_at=now))
    return len(keys)


def derived_keys() -> list[bytes]:
    """The keys to match with, the current one first; for the import's writing thread,
    which has no application context."""
    return list(secrets_box.derive_keys(ERASURES))


def matching(conn: sa.Connection, secret_keys: list[bytes], plain_keys: Iterable[str]) -> dict[str, tuple]:
    """The erased ones among `plain_keys`: plain key -> (deleted_at, sub) of the latest deletion."""
    if conn.execute(sa.select(erasures.c.id).limit(1)).first() is None:
        return {}  # nobody deleted yet: nothing to hash
    hashed = {_hmac(key, plain): plain for plain in set(plain_keys) for key in secret_keys}
    found: dict[str, tuple] = {}
    names = list(hashed)
    for start in range(0, len(names), _CHUNK):
        for key_hash, deleted_at, sub in conn.execute(
                sa.select(erasures.c.key_hash, erasures.c.deleted_at, erasures.c.sub)
                .where(erasures.c.key_hash.in_(names[start:start + _CHUNK]))):
            plain = hashed[key_hash]
            if plain not in found or found[plain][0] < deleted_at:
                found[plain] = (deleted_at, sub)
    return found


def of_email(email: str) -> list[Erasure]:
    """The erasures naming this address, one per deletion, the latest first."""
    hashes = secrets_box.keyed_hashes(email_key(normalise_email(email)), ERASURES)
    return list(db.session.execute(db.select(Erasure).where(Erasure.key_hash.in_(hashes))
                                   .order_by(Erasure.deleted_at.desc(), Erasure.id.desc())).scalars())


def lift(email: str, *, origin: Origin, reason: str) -> list[str]:
    """Let imports bring back the old accounts of every deletion of an account with this
    address (the person asked for them back); the subs of those deletions. Audited."""
    subs = sorted({erasure.sub for erasure in of_email(email)})
    if subs:
        db.session.execute(db.delete(Erasure).where(Erasure.sub.in_(subs)))
        audit.record("identity.erasure_lifted", origin=origin, identity=Identity.by_email(email),
                     email=normalise_email(email), deleted_subs=subs, reason=reason)
        db.session.commit()
    return subs


def _hmac(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

