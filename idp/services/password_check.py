"""Does this password open this identity? Its own argon2 hash when it has one; until
then, the old systems' hashes of the accounts merged into it (issue: nobody is locked
out on the day of the move). An old system past its campaign cutover opens nothing."""
from __future__ import annotations

from ..extensions import db
from ..models import LegacyAccount
from . import clock, legacy_hashes, passwords

OWN, LEGACY = "own", "legacy"


def cut_off(system: str) -> bool:
    from .campaigns import legacy_cut_off

    return legacy_cut_off(system)


def usable_legacy_accounts(identity_id: int) -> list[LegacyAccount]:
    return [account for account in db.session.execute(
        db.select(LegacyAccount).where(LegacyAccount.identity_id == identity_id,
                                       LegacyAccount.password_retired_at.is_(None),
                                       LegacyAccount.password_hash.is_not(None))
    ).scalars() if not cut_off(account.system)]


def matches(identity, password: str) -> str | None:
    """OWN or LEGACY for the hash that opened, or None. Always spends at least one argon2
    check, as an unknown address does: an old quick hash (salted SHA-1 takes microseconds)
    must not tell that an address waits with an imported account."""
    if identity.password_hash:
        return OWN if passwords.verify(identity.password_hash, password) else None
    passwords.verify(None, password)
    # Every candidate is checked, so timing does not tell which of them matched.
    opened = [legacy_hashes.verify(a.hash_scheme, a.password_hash, password)
              for a in usable_legacy_accounts(identity.id)]
    return LEGACY if any(opened) else None


def to_adopt(identity, password: str) -> str | None:
    """The argon2 hash to adopt (see adopt) once the address is proven, when `password`
    just opened an identity that has no password of its own (so an old system's did)."""
    return None if identity.password_hash else passwords.hash_password(password)


def adopt(identity, password_hash: str) -> None:
    """A password that opened a legacy hash (`password_hash`, its argon2 hash) becomes the
    identity's own, and the old hashes stop opening (they stay stored, for history).
    Only for an identity whose address is proven: the person who typed it owns the
    address, so the other old accounts merged into it by that address are theirs too."""
    identity.password_hash = password_hash
    retire_legacy(identity)


def retire_legacy(identity) -> None:
    """The old systems' hashes merged into `identity` open it no more (kept, for history)."""
    db.session.execute(
        db.update(LegacyAccount).where(LegacyAccount.identity_id == identity.id,
                                       LegacyAccount.password_retired_at.is_(None))
        .values(password_retired_at=clock.now()))
