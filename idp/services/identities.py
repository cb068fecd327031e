"""Identities: creating people and checking their password, slowing down guessing."""
from __future__ import annotations

import datetime as dt
import unicodedata

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..errors import Conflict, InvalidCredentials, ValidationFailed
from ..extensions import db
from ..models import Identity, LegacyAccount
from ..models.identity import composed_email, normalise_email
from . import audit, clock, journeys, names, password_check, password_policy, passwords, sessions
from .audit import SYSTEM, Origin
from .unique_rows import add_or_existing

MAX_PASSWORD_LENGTH = 256
MAX_NAME_LENGTH = 200


# RFC 5322 §3.2.3's specials: an address holding one unquoted is read by the email package
# as another address, or as several ("a,b@example.fi", "pekka<maija@example.fi"), and mail
# to it went elsewhere or failed for good. Quoted local parts, where they may stand, are
# what nobody types.
SPECIALS = frozenset('()<>[]:;@\\,"')


def valid_email(email: str) -> bool:
    email = (email or "").strip()
    local, sep, domain = email.rpartition("@")
    # The forms stored must fit too (320, the column): composing, lower-casing ('İ' is two
    # characters in lower case) and the domain's IDNA encoding each lengthen some addresses.
    # A domain of two labels at least, none empty: "maija@example.fi." is delivered to
    # maija@example.fi's mailbox but would have been another account, and "a@b..fi" a mail
    # no server takes.
    labels = domain.split(".")
    return bool(sep and local and len(labels) >= 2 and all(labels) and not _unseen(email)
                and not SPECIALS.intersection(local + domain)
                and max(len(email), len(composed_email(email)), len(normalise_email(email))) <= 320)


def _unseen(text: str) -> bool:
    """Does it hold a character a person cannot see or type as part of an address: a
    space of any kind (also a non-breaking one), a line break, a control or format
    character (a zero-width space, a direction mark)? Copied from a document, such an
    address looks right but is another, and mail to it goes nowhere."""
    return any(unicodedata.category(c)[0] == "Z" or unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co")
               for c in text)


def create(email: str, password: str | None, name: str = "", *, verified: bool = False,
           locale: str | None = None, origin: Origin = SYSTEM) -> Identity:
    identity = added(email, password, name, verified=verified, locale=locale, origin=origin)
    db.session.commit()
    return identity


def added(email: str, password: str | None, name: str = "", *, verified: bool = False, locale: str | None = None,
          origin: Origin = SYSTEM, password_hash: str | None = None) -> Identity:
    """A new identity in the caller's transaction (Conflict: the address has one).
    `password_hash`: a password hashed before (a registration's, when its form was sent)."""
    if not valid_email(email):
        raise ValidationFailed(_l("Enter a valid email address, such as name@example.com."))
    if Identity.by_email(email) is not None:
        raise Conflict(_l("An account with this email address already exists."))
    if password is not None and not 1 <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ValidationFailed(_l("The password must be at most 256 characters long."))
    name = names.one_line(name)
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationFailed(_l("Use at most %(count)d characters in your name.", count=MAX_NAME_LENGTH))
    identity = Identity(name=name, email_verified=verified, locale=locale)
    identity.set_email(email)
    identity.password_hash = password_hash or (passwords.hash_password(password) if password else None)
    # Checked above, but another request may register the address while this one hashed:
    # the unique index decides, and this one is refused as if it had come a moment later.
    if add_or_existing(identity, lambda: Identity.by_email(email)) is not identity:
        raise Conflict(_l("An account with this email address already exists."))
    audit.record("identity.created", origin=origin, identity=identity)
    return identity


def authenticate(email: str, password: str, *, origin: Origin) -> Identity:
    """The identity for this email and password, or InvalidCredentials.

    Unknown email, wrong password and an account made to wait fail the same way and take
    the same time (the hash is computed even while waiting), so the answer reveals neither
    which addresses have an account nor which are under attack.
    """
    identity = Identity.by_email(email) if len(email or "") <= 320 else None
    if identity is None:
        passwords.verify(None, password or "")
        # Not the address: it is often a typo of someone else's, and nobody's account to keep it in.
        audit.record("login.password", "failure", origin=origin, reason="unknown_email")
        db.session.commit()
        raise InvalidCredentials()
    return check_password(identity, password, origin=origin)


def check_password(identity: Identity, password: str, *, origin: Origin, method: str = "email") -> Identity:
    """The identity if `password` opens it now, else InvalidCredentials (counted)."""
    password = bounded(password)
    return conclude(identity, password, password_check.matches(identity, password), origin=origin, method=method)


def bounded(password: str | None) -> str:
    """The password as it is checked: one over MAX_PASSWORD_LENGTH opens nothing."""
    password = password or ""
    return "" if len(password) > MAX_PASSWORD_LENGTH else password


def conclude(identity: Identity, password: str, opened: str | None, *, origin: Origin,
             method: str = "email") -> Identity:
    """Act on a check already made (`opened` from password_check.matches): the identity,
    or InvalidCredentials with the failure counted (see refuse).

    An old system's password that opened becomes the identity's own only once its address
    is proven: old systems never checked addresses (typos, a family sharing one), so
    several people's old accounts may have merged into it, and each old password must keep
    opening until the address's owner is known. Until then the caller (the login) keeps the
    password to adopt when the address is proven there (see password_check.adopt)."""
    email, checked = identity.email_normalized, identity.password_hash
    # Read again, locked until this transaction ends: a password set while this one was
    # being checked (a reset, or another sign-in's rehash) is what must open, and no rehash
    # of the old one may overwrite it. FOR NO KEY UPDATE (Identity.lock), as the UPDATE of a
    # password takes, and no hold (Identity.hold) first: an email change confirmed at this
    # moment holds the row so, then writes the address, a unique column, which waits for
    # every hold; holding the row, this sign-in would wait for that change and it for this.
    with db.session.no_autoflush:  # nothing waiting in the session is written first
        found = Identity.lock(identity.id)
        if found:
            db.session.refresh(identity)
    if not found:
        # Deleted while the password was being checked: refused as for an address without one.
        audit.record("login.password", "failure", origin=origin, reason="account_deleted", email=email)
        db.session.commit()
        raise InvalidCredentials()
    if opened is not None and identity.password_hash != checked:
        opened = password_check.matches(identity, password)
    if opened is None or identity.is_locked():
        refuse(identity, origin)
        db.session.commit()
        raise InvalidCredentials()
    identity.failed_logins = 0
    identity.locked_until = None
    if opened == password_check.LEGACY and identity.email_verified:
        # Journeys that saw another old service's password proven end with it (not rehashed).
        password_check.adopt(identity, passwords.hash_password(password))
        audit.record("legacy.password_adopted", origin=origin, identity=identity)
    elif opened == password_check.OWN and passwords.needs_rehash(identity.password_hash):
        before = journeys.password_version(identity)
        identity.password_hash = passwords.hash_password(password)
        journeys.rehashed(identity, before)
    audit.record("login.password", origin=origin, identity=identity, method=method)
    db.session.commit()
    return identity


def refuse(identity: Identity, origin: Origin) -> None:
    """A password that did not open this identity: counted, unless the identity is already
    waiting (see _count_failure). The caller commits."""
    if identity.is_locked():
        audit.record("login.password", "failure", origin=origin, identity=identity, reason="locked")
    else:
        _count_failure(identity, origin)


def _count_failure(identity: Identity, origin: Origin) -> None:
    wait = count_failure(identity)
    if wait is not None:
        audit.record("identity.locked", origin=origin, identity=identity, seconds=wait,
                     failures=identity.failed_logins)
    audit.record("login.password", "failure", origin=origin, identity=identity,
                 reason="wrong_password" if wait is None else "locked_now")


def count_failure(holder: Identity | LegacyAccount) -> int | None:
    """Count a wrong password on an identity, or on an old account not merged yet; the
    wait in seconds it now earned, if any.

    After IDP_LOGIN_DELAY_AFTER wrong passwords in a row, each further one makes the
    account wait twice as long (up to IDP_LOGIN_DELAY_MAX) before a password counts again.
    A wait, not a lock-out: guessing slows to a crawl, but an attacker cannot keep the
    owner out for good. Attempts during the wait are refused without being counted.
    """
    config = current_app.config
    model = type(holder)
    # Counted in SQL so concurrent attempts from several processes all count.
    db.session.execute(db.update(model).where(model.id == holder.id).values(failed_logins=model.failed_logins + 1))
    db.session.refresh(holder)
    beyond = holder.failed_logins - config["IDP_LOGIN_DELAY_AFTER"]
    if beyond < 0:
        return None
    wait = min(config["IDP_LOGIN_DELAY_BASE"] * 2 ** min(beyond, 30), config["IDP_LOGIN_DELAY_MAX"])
    holder.locked_until = clock.now() + dt.timedelta(seconds=wait)
    return wait


def prove_address(identity: Identity, prover_password_hash: str | None, *, method: str, origin: Origin) -> None:
    """Someone proved the address of `identity` without knowing its password.

    Anyone can register any address, so the password of an identity whose address nobody
    had proven may be a stranger's: it gives way to the prover's own (None: none) and any
    session ends. So do the old systems' passwords merged into it by that address, which
    may be several people's (a family's shared address): before, after the owner proved
    it with an upstream identification, a sister's old password still opened the account,
    and became its password. An identity already proven keeps its password.
    """
    if not identity.email_verified:
        identity.password_hash = prover_password_hash
        password_check.retire_legacy(identity)
        identity.failed_logins = 0
        identity.locked_until = None
        audit.record("identity.unproven_password_replaced", origin=origin, identity=identity)
        sessions.end_all(identity, origin=origin, reason="address_proven", journeys_because=journeys.PASSWORD_CHANGED)
        identity.email_verified = True
        audit.record("email.verified", origin=origin, identity=identity, method=method)


def set_password(identity: Identity, new_password: str, *, origin: Origin, reason: str,
                 keep_sid: str | None = None, keep_journeys: tuple = ()) -> None:
    """Set a new password that passes the policy; every other session and token ends, and
    every journey under way but `keep_journeys` (see replace_password).

    The caller commits (with the mail that tells the person, if any).
    """
    password_policy.check(new_password, identity.email, identity.name)
    # The current one is an old system's too, while it still opens the account: a campaign
    # or reset exists to replace it (it may have leaked with that system's database).
    if password_check.matches(identity, new_password) is not None:
        raise ValidationFailed(_l("Choose a password different from your current one."))
    replace_password(identity, passwords.hash_password(new_password), origin=origin, reason=reason, keep_sid=keep_sid,
                     keep_journeys=keep_journeys)


def replace_password(identity: Identity, password_hash: str, *, origin: Origin, reason: str,
                     keep_sid: str | None = None, keep_journeys: tuple = ()) -> None:
    """Make `password_hash` (of a password the policy accepted) the identity's own; the old
    systems' passwords stop opening it and every other session ends. So does every journey
    under way about the person (services/journeys.py): an email change or a login begun with
    the old password must not complete after it. `keep_journeys` make the change and go on,
    having proven the new password. The caller commits."""
    identity.password_hash = password_hash
    identity.failed_logins = 0
    identity.locked_until = None
    password_check.retire_legacy(identity)
    audit.record("identity.password_changed", origin=origin, identity=identity, reason=reason)
    sessions.end_all(identity, origin=origin, reason=f"password_{reason}", keep_sid=keep_sid,
                     journeys_because=journeys.PASSWORD_CHANGED, keep_journeys=keep_journeys)
    journeys.note_password(identity, keep_journeys)
