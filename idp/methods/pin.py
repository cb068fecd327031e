"""The kiosk PIN: four digits a person sets on their account page and types on their
building's touch screen (flows/kiosk.py, web/kiosk.py).

Four digits are weak by nature, so the rules around them carry the weight: no trivial
PINs, argon2id at rest of the PIN keyed with IDP_SECRET_KEY (a database copy alone would
give up all 10,000 candidates in minutes), and a PIN takes IDP_PIN_MAX_ATTEMPTS wrong
tries *in all* (a right one does not reset the count, so slow guessing between the
owner's own logins gets nowhere) before PIN login stays off until the person sets a new
PIN. A PIN may be changed once per IDP_PIN_CHANGE_INTERVAL, except a locked one. It
opens only a kiosk session (amr "pin", the lowest acr), never the ordinary login.
"""
from __future__ import annotations

import datetime as dt
import re

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..errors import IdpError, NotFound
from ..extensions import db
from ..models import Client, Identity, KioskPin, LoginSession, Membership
from ..services import account, audit, clock, passwords, secrets_box, sessions
from ..services.account import FormRejected
from ..services.audit import Origin
from ..services.digits import ascii_digits
from ..services.unique_rows import add_or_existing

AMR = "pin"  # RFC 8176
PIN = re.compile(r"[0-9]{4}")  # not \d: it also matches other scripts' digits
# Most chosen 4-digit PINs (DataGenetics' analysis of 3.4 million) that the rules for
# repeated digits and runs do not already catch; years and keypad columns among them.
COMMON = frozenset({"1212", "1004", "2000", "2001", "6969", "1122", "1313", "1010", "2580", "0852",
                    "5683", "0007", "1984", "1990", "2020", "4545", "0101", "1231", "1998", "2468"})
ASCENDING = "0123456789"


# Marks the hash of a keyed PIN; one without it was set before PINs were keyed.
KEYED = "keyed$"


def _hash(pin: str) -> str:
    return KEYED + passwords.hash_password(secrets_box.keyed_hash(pin, secrets_box.KIOSK_PIN))


def _matches(pin_hash: str, pin: str) -> tuple[bool, bool]:
    """(whether `pin` is the one hashed, whether the hash is to be made again: set before
    PINs were keyed, or keyed with an IDP_SECRET_KEY_FALLBACKS secret)."""
    if not pin_hash.startswith(KEYED):
        return passwords.verify(pin_hash, pin), True
    for n, keyed in enumerate(secrets_box.keyed_hashes(pin, secrets_box.KIOSK_PIN)):
        if passwords.verify(pin_hash.removeprefix(KEYED), keyed):
            return True, n > 0
    return False, False


class PinRejected(IdpError):
    """`reason`: wrong (`left` tries remain), incomplete (not 4 digits: no try spent), or
    locked (too many wrong PINs, or no PIN at all any more)."""
    id = "pin_rejected"

    def __init__(self, reason: str, left: int | None = None):
        super().__init__()
        self.reason, self.left = reason, left
        self.status = 423 if reason == "locked" else 401


def trivial(pin: str) -> bool:
    return len(set(pin)) == 1 or pin in ASCENDING or pin in ASCENDING[::-1] or pin in COMMON


def credential(identity) -> KioskPin | None:
    return db.session.execute(db.select(KioskPin).filter_by(identity_id=identity.id)).scalar_one_or_none()


def _locked(identity) -> KioskPin | None:
    """The PIN as now committed, its row locked until the transaction ends (PostgreSQL)."""
    return db.session.execute(db.select(KioskPin).filter_by(identity_id=identity.id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one_or_none()


def usable(found: KioskPin | None) -> bool:
    return found is not None and not locked(found)


def locked(found: KioskPin | None) -> bool:
    """Off until a new PIN is set: locked by wrong tries, or holding as many as
    IDP_PIN_MAX_ATTEMPTS now allows (lowered since). Before, such a PIN refused the right
    PIN as locked while the kiosk still asked for it, and its owner might not set a new one
    for a day."""
    return found is not None and (found.locked_at is not None
                                  or found.failed_attempts >= current_app.config["IDP_PIN_MAX_ATTEMPTS"])


def kiosk_memberships(identity) -> list[Membership]:
    """The person's memberships in organisations that have a kiosk: where a PIN is of use."""
    has_kiosk = db.select(Client.id).where(Client.kiosk_organisation_id == Membership.organisation_id).exists()
    return list(db.session.execute(
        db.select(Membership).where(Membership.identity_id == identity.id, has_kiosk).order_by(Membership.id)
    ).scalars())


def next_change_at(found: KioskPin | None) -> dt.datetime | None:
    """When the PIN may next be changed; None when it may be now."""
    if found is None or locked(found):
        return None
    allowed = found.set_at + dt.timedelta(seconds=current_app.config["IDP_PIN_CHANGE_INTERVAL"])
    return allowed if allowed > clock.now() else None


def set_pin(identity, password: str, pin: str, repeated: str, *, origin: Origin) -> None:
    """Set or change the PIN; FormRejected names the field at fault. The password keeps
    someone holding only a stolen session from giving themselves a way in at the kiosk."""
    found = credential(identity)
    if next_change_at(found) is not None:
        raise FormRejected({"pin": _l("You can change your PIN only once a day.")})
    pin = ascii_digits((pin or "").strip())
    if not PIN.fullmatch(pin):
        raise FormRejected({"pin": _l("Enter exactly 4 digits.")})
    if trivial(pin):
        raise FormRejected({"pin": _l("This PIN is too easy to guess. Avoid repeated digits, runs such as 1234 "
                                      "and common choices.")})
    if ascii_digits((repeated or "").strip()) != pin:
        raise FormRejected({"repeat_pin": _l("The PINs do not match.")})
    account.confirm_password(identity, password, origin=origin, event="pin.set")
    pin_hash = _hash(pin)
    # The person's row before the PIN's, as deleting the account takes them (see verify).
    if not Identity.hold(identity.id):
        raise NotFound()
    # Two tabs (or a double click) may both have passed the check above before either saved:
    # the PIN is read again under its row's lock (a first PIN: the unique constraint keeps
    # one), and one saved meanwhile stands as the day's change. Whether it is this very PIN
    # is told only here, after the password: a stolen session must not learn a PIN by it.
    found = _locked(identity) or add_or_existing(KioskPin(identity_id=identity.id, pin_hash=pin_hash),
                                                 lambda: _locked(identity))
    if found.pin_hash != pin_hash:  # a PIN before this one
        same = _matches(found.pin_hash, pin)[0]
        if next_change_at(found) is not None:
            if same:
                db.session.commit()
                return  # the same PIN, saved (and recorded) by the other click
            raise FormRejected({"pin": _l("You can change your PIN only once a day.")})
        if same:
            # Before, a locked PIN could be set again as it was: its count began anew, and a
            # guesser who had ruled out five values got five more at the same PIN.
            raise FormRejected({"pin": _l("Choose a PIN different from your current one.")})
    found.pin_hash = pin_hash
    found.set_at, found.failed_attempts, found.locked_at = clock.now(), 0, None
    audit.record("pin.set", origin=origin, identity=identity)
    db.session.commit()


def remove_pin(identity, password: str, *, origin: Origin) -> bool:
    """Remove the PIN (the password again, as for setting one): the person leaves the
    kiosks' resident lists, and a kiosk session the PIN opened ends with its tokens.
    False when there was none to remove (the click before removed it)."""
    found = credential(identity)
    if found is None:
        return False
    account.confirm_password(identity, password, origin=origin, event="pin.removed")
    if not Identity.hold(identity.id):  # deleted meanwhile, the PIN with it
        raise NotFound()
    if not db.session.execute(db.delete(KioskPin).where(KioskPin.id == found.id)).rowcount:
        db.session.rollback()  # the click before removed it (a double click): recorded once
        return False
    audit.record("pin.removed", origin=origin, identity=identity)
    db.session.commit()
    for session in db.session.execute(db.select(LoginSession).where(
            LoginSession.identity_id == identity.id, LoginSession.kiosk_client_id.is_not(None),
            LoginSession.ended_at.is_(None))).scalars():
        sessions.end(session, origin=origin, reason="pin_removed")
    return True


def verify(identity, pin: str, *, origin: Origin, client_id: str | None = None) -> None:
    """A kiosk login's PIN check: returns when right, else PinRejected.

    Each try first claims one of the PIN's remaining attempts in a single UPDATE, so
    concurrent guesses from several processes can never get more tries than allowed;
    a right PIN gives its attempt back.
    """
    limit = current_app.config["IDP_PIN_MAX_ATTEMPTS"]
    # The person's row before the PIN's (Identity.hold), as deleting the account takes them:
    # the attempt's record names the person and would wait for a deletion under way, which
    # would wait for the PIN's row in turn.
    if not Identity.hold(identity.id):  # deleted meanwhile, the PIN and the membership with it
        raise NotFound()
    found = credential(identity)
    pin = ascii_digits(pin or "")
    if usable(found) and not PIN.fullmatch(pin):
        # The sign-in key pressed too early: no guess at all, so no try spent on it.
        raise PinRejected("incomplete")
    claimed = found is not None and db.session.execute(
        db.update(KioskPin)
        .where(KioskPin.id == found.id, KioskPin.locked_at.is_(None), KioskPin.failed_attempts < limit)
        .values(failed_attempts=KioskPin.failed_attempts + 1)
    ).rowcount == 1
    if not claimed:
        audit.record("login.pin", "failure", origin=origin, identity=identity, client_id=client_id, reason="locked")
        db.session.commit()
        raise PinRejected("locked")
    db.session.refresh(found)
    right, stale = _matches(found.pin_hash, pin)
    if right:
        db.session.execute(db.update(KioskPin).where(KioskPin.id == found.id)
                           .values(failed_attempts=KioskPin.failed_attempts - 1))
        if stale:  # unless a new PIN was set meanwhile
            db.session.execute(db.update(KioskPin).where(KioskPin.id == found.id, KioskPin.pin_hash == found.pin_hash)
                               .values(pin_hash=_hash(pin)))
        audit.record("login.pin", origin=origin, identity=identity, client_id=client_id)
        db.session.commit()
        return
    audit.record("login.pin", "failure", origin=origin, identity=identity, client_id=client_id, reason="wrong",
                 attempts=found.failed_attempts)
    if found.failed_attempts >= limit:
        found.locked_at = clock.now()
        audit.record("pin.locked", origin=origin, identity=identity, client_id=client_id)
        db.session.commit()
        raise PinRejected("locked")
    db.session.commit()
    # Told at the screen so the resident can stop before PIN sign-in turns off; a guesser
    # learns only how many of the few tries the PIN allows in all are left, not more tries.
    raise PinRejected("wrong", left=limit - found.failed_attempts)
