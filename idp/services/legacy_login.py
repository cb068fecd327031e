"""Signing in with an old login name (username or customer code) from a legacy system.

Login names are unique per system; where two systems share one, the password decides.
A login name may look like an address (see by_login_name).
The person is shown which email to use from now on, masked. An account that was never
merged into an identity (no usable email) opens with its old password and then must add
and verify an email before the login goes on.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..errors import IdpError, InvalidCredentials
from ..extensions import db
from ..models import Identity, LegacyAccount
from . import audit, identities, legacy_hashes, password_check, passwords
from .audit import Origin
from .legacy_import.rows import normalise_login
from .password_check import cut_off


class LegacyCutOff(InvalidCredentials):
    id = "legacy_cut_off"
    message = _l("Old user names and passwords no longer work. Reset your password by email to sign in.")


class NeedsEmail(IdpError):
    """The old password opened an account that has no email yet: one must be added."""
    id = "legacy_needs_email"

    def __init__(self, account: LegacyAccount, password_hash: str):
        super().__init__()
        self.account = account
        self.password_hash = password_hash


def accounts(login_name: str) -> list[LegacyAccount]:
    name = normalise_login(login_name or "")[:200]
    if not name:
        return []
    return list(db.session.execute(
        db.select(LegacyAccount).where(LegacyAccount.login_name_normalized == name).order_by(LegacyAccount.id)
    ).scalars())


def names_exist() -> bool:
    """Were old services' accounts imported, so that someone may type an old login name?"""
    return db.session.execute(db.select(LegacyAccount.id).limit(1)).first() is not None


def valid_identifier(identifier: str) -> bool:
    """What a person may type to be recognised: an email address, or where old accounts
    were imported an old login name (without "@", or one an old system has, "@" and all:
    "matti@kirjasto", which before could never be signed in with). Elsewhere a name
    without "@" is a mistyped address, and the person is told so rather than asked for a
    password."""
    identifier = (identifier or "").strip()
    if not identifier or len(identifier) > 320:
        return False
    if "@" in identifier:
        return identities.valid_email(identifier) or is_login_name(identifier)
    return names_exist()


def is_login_name(identifier: str) -> bool:
    """Does an old account have this login name (also one past its cutover)?"""
    return bool(accounts(identifier))


def by_login_name(identifier: str) -> bool:
    """Is what was typed to be signed in with as an old login name? Anything without "@";
    and one that looks like an address ('name@with.at': many old systems took an earlier
    email address as the user name) when it is an old login name and no identity has it
    as its email address, which comes first."""
    if not identities.valid_email(identifier):
        return True
    return is_login_name(identifier) and Identity.by_email(identifier) is None


def mask(email: str) -> str:
    """m•••@e•••.fi: enough to recognise one's own address, not to learn someone else's."""
    local, _, domain = email.partition("@")
    name, dot, tld = domain.rpartition(".")
    return f"{local[:1]}•••@{(name or tld)[:1]}•••{dot}{tld if name else ''}"


def email_hint(login_name: str) -> str | None:
    """The masked email to sign in with, when the old login name leads to one identity."""
    identity_ids = {a.identity_id for a in accounts(login_name) if not cut_off(a.system)}
    if len(identity_ids) != 1 or None in identity_ids:
        return None
    return mask(db.session.get(Identity, identity_ids.pop()).email)


def identity_for(login_name: str) -> Identity | None:
    """The identity an old login name leads to, for a password reset by email (also after
    the cutover: the reset is the way back in). None when the name is unknown, its account
    was never merged (no email to send to) or several people share it."""
    identity_ids = {a.identity_id for a in accounts(login_name)}
    if len(identity_ids) != 1 or None in identity_ids:
        return None
    return db.session.get(Identity, identity_ids.pop())


def authenticate(login_name: str, password: str, *, origin: Origin) -> Identity:
    """The identity an old login name and its password open; InvalidCredentials, or
    NeedsEmail for an old account not merged into an identity yet.

    Where systems share the name, every candidate is checked first, none counted, and the
    oldest account the password opens wins: one person signing in never counts as a wrong
    password on the other. When none opens, the failure counts on each candidate, as it
    would had it been typed with their email: a guess at a shared name is a guess at all
    of them, and the name must not be a way round the slowing of guesses per account.
    """
    candidates = accounts(login_name)
    live = [a for a in candidates if not cut_off(a.system)]
    if candidates and not live:
        audit.record("login.legacy", "failure", origin=origin, reason="cut_off", systems=[a.system for a in candidates])
        db.session.commit()
        raise LegacyCutOff()
    if not live:
        legacy_hashes.dummy_verify(password or "")
        audit.record("login.legacy", "failure", origin=origin, reason="unknown_login_name")
        db.session.commit()
        raise InvalidCredentials()
    password = identities.bounded(password)
    people: dict[int, Identity] = {}
    opened = None  # (account, what password_check.matches said, or None for an unmerged account)
    with legacy_hashes.no_faster_than_dummy(password):  # as fast as an unknown name, or slower
        for account in live:
            if account.identity_id is not None:
                if account.identity_id in people:
                    continue
                identity = people[account.identity_id] = db.session.get(Identity, account.identity_id)
                result = password_check.matches(identity, password)
                if result is not None and opened is None:
                    opened = account, result
            elif (account.password_retired_at is None and not account.is_locked()
                  and legacy_hashes.verify(account.hash_scheme, account.password_hash, password) and opened is None):
                opened = account, None
    if opened is None:
        for identity in people.values():
            identities.refuse(identity, origin)
        for account in live:
            if account.identity_id is None:
                _refuse_unmerged(account, origin)
        db.session.commit()
        raise InvalidCredentials()
    account, result = opened
    if account.identity_id is not None:
        return identities.conclude(people[account.identity_id], password, result, origin=origin,
                                   method=f"legacy:{account.system}")
    account.failed_logins, account.locked_until = 0, None
    audit.record("login.legacy", origin=origin, reason="needs_email", system=account.system,
                 legacy_id=account.legacy_id)
    db.session.commit()
    raise NeedsEmail(account, passwords.hash_password(password))


def _refuse_unmerged(account: LegacyAccount, origin: Origin) -> None:
    """A wrong password at an old account with no identity yet slows further guesses at it
    as it would at an identity (identities.count_failure): its owner has only this password."""
    if account.is_locked():
        reason = "locked"
    else:
        reason = "wrong_password" if identities.count_failure(account) is None else "locked_now"
    audit.record("login.legacy", "failure", origin=origin, reason=reason, system=account.system,
                 legacy_id=account.legacy_id)
