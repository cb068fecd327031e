"""TOTP (RFC 6238), the second factor of a login; recovery_codes.py stands in for it.

The seed is encrypted at rest (services/secrets_box). A code is accepted one 30-second
step either side of now (clock skew), never for a step at or before the last accepted
one (no replay in its window), and too many wrong codes lock the step for a while.
The enrolment, login-step and account pages are in web/totp.py; the diagram is
docs/flows/totp.md.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import re

import pyotp
from flask import current_app
from flask_babel import lazy_gettext as _l

from ..errors import IdpError
from ..extensions import db
from ..models import Identity, TotpCredential
from ..services import account, audit, clock, secrets_box
from ..services.time_text import duration
from ..services.account import FormRejected
from ..services.audit import Origin
from ..services.digits import ascii_digits
from ..services.unique_rows import add_or_existing
from . import passkey, recovery_codes

log = logging.getLogger(__name__)

ISSUER_NAME = "Tunnus"
CODE = re.compile(r"[0-9]{6}")
WINDOW = (-1, 0, 1)  # pyotp's valid_window=1, stepped by hand to learn which step matched


class TotpRejected(IdpError):
    """`reason`: wrong, replayed or locked."""
    id = "totp_rejected"

    def __init__(self, reason: str):
        super().__init__()
        self.reason = reason
        self.status = 429 if reason == "locked" else 400


def credential(identity) -> TotpCredential | None:
    return db.session.execute(db.select(TotpCredential).filter_by(identity_id=identity.id)).scalar_one_or_none()


class AlreadyDone(Exception):
    """The app was turned on (or off) meanwhile, by the click before this one (a double
    click): answered as that click was, not as a wrong code, which it would be, its time
    step used already."""


def _as_committed(identity) -> TotpCredential | None:
    """The app as committed now, the person's row held until the commit (before their
    second factors, docs/resilience.md): turning the app off and removing the last passkey
    at once each saw the other still there, and the recovery codes outlived both."""
    Identity.lock(identity.id)
    return db.session.execute(db.select(TotpCredential).filter_by(identity_id=identity.id)
                              .execution_options(populate_existing=True)).scalar_one_or_none()


def enabled(identity) -> bool:
    found = credential(identity)
    return found is not None and found.confirmed_at is not None


def begin_enrolment(identity, shown_here: str | None) -> tuple[str, str]:
    """The seed to show, and its mark for the browser to keep (shown_here, next time): the
    seed still waiting for its first code if this browser was shown it (a reload must not
    invalidate what the app already scanned), else a new one in its place. Before, every
    session of the person was shown the one waiting: a seed seen by a stolen session, or
    on a shared computer, became the person's app when they turned it on."""
    found = credential(identity)
    if found is not None and found.confirmed_at is not None:
        raise IdpError(_l("Two-step verification is already on."))
    if found is not None:
        if shown_here == _mark(found):
            try:
                return secrets_box.decrypt(found.secret_encrypted), shown_here
            except secrets_box.Unreadable:  # sealed under an earlier IDP_SECRET_KEY: start afresh
                pass
        db.session.delete(found)
        db.session.flush()  # the delete must reach the database before the insert below
    secret = pyotp.random_base32()
    added = TotpCredential(identity_id=identity.id, secret_encrypted=secrets_box.encrypt(secret))
    # The same page opened twice at once: both show the seed that won.
    kept = add_or_existing(added, lambda: credential(identity))
    db.session.commit()
    return (secret if kept is added else secrets_box.decrypt(kept.secret_encrypted)), _mark(kept)


def _mark(pending: TotpCredential) -> str:
    """What a browser keeps of the seed it was shown: nothing of the seed itself."""
    return hashlib.sha256(pending.secret_encrypted.encode()).hexdigest()[:32]


def provisioning_uri(identity, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=identity.email, issuer_name=ISSUER_NAME)


def confirm_enrolment(identity, password: str, code: str, *, origin: Origin) -> list[str]:
    """Turn TOTP on with the password and the first code from the app; returns the
    recovery codes to show once (none when a passkey came with codes still unused). The password keeps someone holding only a stolen
    session from adding their own app and stepping that session up with it."""
    account.confirm_password(identity, password, origin=origin, event="totp.enrolled")
    found = _as_committed(identity)
    if found is not None and found.confirmed_at is not None:
        raise AlreadyDone()
    if found is None or not _accept(found, code):
        raise FormRejected({"code": _l("The code is not correct. Check the time on your phone and try again.")})
    found.confirmed_at = clock.now()
    codes = recovery_codes.issue_unless_held(identity)
    audit.record("totp.enrolled", origin=origin, identity=identity)
    db.session.commit()
    return codes


def verify_login(identity, code: str, *, origin: Origin, event: str = "login.totp") -> None:
    """The login step: a code from the app, or TotpRejected."""
    _app_code(identity, code, origin=origin, event=event)
    db.session.commit()


def verify_recovery_code(identity, code: str, *, origin: Origin, event: str = "login.totp") -> None:
    """A recovery code instead of the app's code: used up on success; wrong ones count
    towards the same lock as wrong app codes."""
    _recovery_code(identity, code, origin=origin, event=event)
    db.session.commit()


def _app_code(identity, code: str, *, origin: Origin, event: str) -> None:
    """verify_login, uncommitted on success (a failure is committed, counted)."""
    found = _confirmed(identity)
    _guard(found, identity, origin, event=event, method="totp")
    if not _accept(found, code):
        reason = "replayed" if _replayed(found, code) else "wrong"
        _fail(found, identity, origin, event=event, reason=reason, method="totp")
    found.failed_attempts = 0
    audit.record(event, origin=origin, identity=identity, method="totp")


def _recovery_code(identity, code: str, *, origin: Origin, event: str) -> None:
    """verify_recovery_code, uncommitted on success."""
    found = _confirmed(identity)
    _guard(found, identity, origin, event=event, method="recovery_code")
    if not recovery_codes.use(identity, code):
        _fail(found, identity, origin, event=event, reason="wrong", method="recovery_code")
    found.failed_attempts = 0
    audit.record("recovery_code.used", origin=origin, identity=identity, left=recovery_codes.left(identity))
    audit.record(event, origin=origin, identity=identity, method="recovery_code")


def disable(identity, password: str, code: str, *, origin: Origin) -> None:
    """Needs the password and a current code (or a recovery code)."""
    _confirmed(identity)
    account.confirm_password(identity, password, origin=origin, event="totp.disabled")
    found = _as_committed(identity)
    if found is None or found.confirmed_at is None:
        raise AlreadyDone()
    code = (code or "").strip()
    # Checked in this transaction: the person's row stays held until the app is gone.
    check = _app_code if CODE.fullmatch(_typed(code)) else _recovery_code
    try:
        check(identity, code, origin=origin, event="totp.disabled")
    except TotpRejected as rejected:
        raise FormRejected({"code": locked_message() if rejected.reason == "locked"
                            else _l("The code is not correct.")}) from rejected
    db.session.delete(found)
    if not passkey.has_passkeys(identity):  # the codes stand in for a second factor; none is left
        recovery_codes.replace(identity, count=0)
    db.session.commit()


def regenerate_recovery_codes(identity, password: str, *, origin: Origin) -> list[str]:
    """New codes for anyone with a second factor: before, only with the app, so someone
    whose only factor is a passkey had none after using up ten, or after IDP_SECRET_KEY
    changed."""
    if not (enabled(identity) or passkey.has_passkeys(identity)):
        raise IdpError(_l("Two-step verification is not on."))
    account.confirm_password(identity, password, origin=origin, event="recovery_codes.regenerated")
    codes = recovery_codes.replace(identity)
    audit.record("recovery_codes.regenerated", origin=origin, identity=identity)
    db.session.commit()
    return codes


def _confirmed(identity) -> TotpCredential:
    found = credential(identity)
    if found is None or found.confirmed_at is None:
        raise IdpError(_l("Two-step verification is not on."))
    return found


def _typed(code: str) -> str:
    return ascii_digits((code or "").replace(" ", ""))


class SeedUnreadable(IdpError):
    """The app's seed is sealed under an IDP_SECRET_KEY no longer configured (changed
    without its earlier value in IDP_SECRET_KEY_FALLBACKS): no code can be checked. Before,
    every code was a 500, and the person was told nothing."""
    id = "totp_seed_unreadable"
    status = 503
    title = _l("Two-step verification cannot be checked")
    message = _l("Codes of your authenticator app cannot be checked at the moment. Contact support: they can turn "
                 "two-step verification off, after which you can sign in and set it up again.")


def _matching_step(found: TotpCredential, code: str) -> int | None:
    code = _typed(code)
    if not CODE.fullmatch(code):
        return None
    try:
        seed = secrets_box.decrypt(found.secret_encrypted)
    except secrets_box.Unreadable:
        log.error("the authenticator app of identity %s is sealed under a key neither IDP_SECRET_KEY nor in "
                  "IDP_SECRET_KEY_FALLBACKS", found.identity_id)
        raise SeedUnreadable() from None
    totp = pyotp.TOTP(seed)
    now = totp.timecode(clock.timestamp())
    return next((now + offset for offset in WINDOW
                 if hmac.compare_digest(totp.generate_otp(now + offset), code)), None)


def _replayed(found: TotpCredential, code: str) -> bool:
    step = _matching_step(found, code)
    return step is not None and found.last_used_step is not None and step <= found.last_used_step


def _accept(found: TotpCredential, code: str) -> bool:
    """Right code for a step after the last accepted one; claimed in one statement so two
    concurrent requests with the same code cannot both pass."""
    step = _matching_step(found, code)
    if step is None:
        return False
    claimed = db.session.execute(
        db.update(TotpCredential)
        .where(TotpCredential.id == found.id,
               TotpCredential.last_used_step.is_(None) | (TotpCredential.last_used_step < step))
        .values(last_used_step=step)
    ).rowcount == 1
    db.session.refresh(found)
    return claimed


def _guard(found: TotpCredential, identity, origin: Origin, *, event: str, method: str) -> None:
    """Claim one of the attempts left before the lock, in one statement, before any code is
    checked (a right code gives it back: failed_attempts 0). The row stays held until the
    attempt is recorded, so guesses at once take turns, and no more of them are checked
    than IDP_TOTP_LOCK_THRESHOLD. Before, the lock was only read here and counted after the
    check: a burst of 20 wrong codes at once had 14 to 18 of them checked."""
    now = clock.now()
    claimed = db.session.execute(
        db.update(TotpCredential)
        .where(TotpCredential.id == found.id,
               TotpCredential.locked_until.is_(None) | (TotpCredential.locked_until <= now),
               TotpCredential.failed_attempts < current_app.config["IDP_TOTP_LOCK_THRESHOLD"])
        .values(failed_attempts=TotpCredential.failed_attempts + 1)
    ).rowcount == 1
    if not claimed:
        audit.record(event, "failure", origin=origin, identity=identity, reason="locked", method=method)
        db.session.commit()
        raise TotpRejected("locked")
    db.session.refresh(found)


def _fail(found: TotpCredential, identity, origin: Origin, *, event: str, reason: str, method: str) -> None:
    """The attempt _guard claimed was wrong: recorded, and the app locked once none is left."""
    config = current_app.config
    audit.record(event, "failure", origin=origin, identity=identity, reason=reason, method=method)
    if found.failed_attempts >= config["IDP_TOTP_LOCK_THRESHOLD"]:
        found.locked_until = clock.now() + dt.timedelta(seconds=config["IDP_TOTP_LOCK_SECONDS"])
        found.failed_attempts = 0
        audit.record("totp.locked", origin=origin, identity=identity)
        reason = "locked"
    db.session.commit()
    raise TotpRejected(reason)


def locked_message():
    return _l("Too many wrong codes. Wait %(duration)s and try again.",
              duration=duration(current_app.config["IDP_TOTP_LOCK_SECONDS"]))
