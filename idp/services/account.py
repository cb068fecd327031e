"""What a signed-in person can change and see about their own account: profile,
password, sessions and the services they have allowed."""
from __future__ import annotations

import math
import re

from flask_babel import lazy_gettext as _l, lazy_ngettext as _ln

from ..errors import NotFound, ValidationFailed
from ..extensions import db
from ..models import AuthorizationCode, Client, Consent, Identity, LoginSession, Token
from . import audit, clock, identities, mail, names, password_notice, passwords, sessions
from .audit import Origin
from .digits import ascii_digits

LOCALES = ("fi", "sv", "en")
# Finnish mobile numbers begin 04x or 050; abroad, anything E.164 allows (at most 15 digits).
FINNISH_MOBILE = re.compile(r"\+358(4[0-9]|50)[0-9]{5,8}")
INTERNATIONAL = re.compile(r"\+[1-9][0-9]{6,14}")


class FormRejected(ValidationFailed):
    """One or more fields were not accepted; `problems` maps field name to message."""

    def __init__(self, problems: dict):
        super().__init__(" ".join(str(message) for message in problems.values()))
        self.problems = problems


def normalise_phone(raw: str) -> str | None:
    """'040 123 4567', '+358 40 1234567' and '00358401234567' all become '+358401234567'.
    Empty means no number; anything that is not a mobile number raises FormRejected."""
    number = ascii_digits(re.sub(r"[\s\-().]", "", raw or ""))
    if not number:
        return None
    if number.startswith("00"):
        number = "+" + number[2:]
    elif number.startswith("0"):
        number = "+358" + number[1:]
    pattern = FINNISH_MOBILE if number.startswith("+358") else INTERNATIONAL
    if pattern.fullmatch(number):
        return number
    raise FormRejected({"phone": _l("Enter a mobile number, such as 040 123 4567, or +46 70 123 4567 for one abroad.")})


def update_profile(identity: Identity, *, name: str, phone: str, locale: str, origin: Origin) -> None:
    name = names.one_line(name)
    problems = {}
    if not name:
        problems["name"] = _l("Enter your name.")
    elif len(name) > identities.MAX_NAME_LENGTH:
        problems["name"] = _l("Use at most %(count)d characters.", count=identities.MAX_NAME_LENGTH)
    try:
        normalised = normalise_phone(phone)
    except FormRejected as rejected:
        problems.update(rejected.problems)
    if locale not in LOCALES:
        problems["locale"] = _l("Choose one of the languages listed.")
    if problems:
        raise FormRejected(problems)
    # The person's row alone before the audit record holds it: an email change confirmed at
    # this moment writes the address, which waits for that hold (docs/resilience.md).
    if not Identity.lock(identity.id):
        raise NotFound()
    changed = sorted(field for field, value in (("name", name), ("phone", normalised), ("locale", locale))
                     if getattr(identity, field) != value)
    identity.name, identity.phone, identity.locale = name, normalised, locale
    if changed:
        audit.record("profile.updated", origin=origin, identity=identity, fields=changed)
    db.session.commit()


def confirm_password(identity: Identity, password: str, *, origin: Origin, event: str,
                     reason: str = "wrong_password") -> None:
    """The current password again before a sensitive change (second factors, passkeys), so
    that someone holding only a stolen session cannot make it. Failures are audited as `event`.
    An account without a password (made by identifying with a bank) sets one first."""
    password = password or ""
    if not identity.password_hash:
        audit.record(event, "failure", origin=origin, identity=identity, reason="no_password")
        db.session.commit()
        raise FormRejected({"current_password": _l("Your account has no password yet, and this change needs one.")})
    # Wrong passwords count, and make the account wait, as at login (identities.count_failure):
    # before, someone holding a stolen session guessed here from many addresses with no wait.
    if identity.is_locked():
        audit.record(event, "failure", origin=origin, identity=identity, reason="locked")
        db.session.commit()
        minutes = math.ceil((identity.locked_until - clock.now()).total_seconds() / 60)
        raise FormRejected({"current_password": _ln("Too many attempts. Try again in %(num)d minute.",
                                                    "Too many attempts. Try again in %(num)d minutes.", minutes)})
    if len(password) > identities.MAX_PASSWORD_LENGTH or not passwords.verify(identity.password_hash, password):
        audit.record(event, "failure", origin=origin, identity=identity, reason=reason)
        wait = identities.count_failure(identity)
        if wait is not None:
            audit.record("identity.locked", origin=origin, identity=identity, seconds=wait,
                         failures=identity.failed_logins)
        db.session.commit()
        raise FormRejected({"current_password": _l("Your current password is not correct.")})


def change_password(identity: Identity, current: str, new: str, *, origin: Origin, keep_sid: str,
                    locale: str) -> None:
    """Ends every other session and its tokens; this browser stays signed in. The person
    is told by mail, as after a reset, in case it was not them."""
    confirm_password(identity, current, origin=origin, event="identity.password_changed", reason="wrong_current")
    checked = identity.password_hash
    # Read again, the person's row alone (docs/resilience.md): a change that another device
    # made while this one was being checked stands, and this one, proven against a password
    # no longer the account's, must be proven against the new one or refused.
    with db.session.no_autoflush:
        if not Identity.lock(identity.id):
            raise NotFound()
        db.session.refresh(identity)
    if identity.password_hash != checked:
        confirm_password(identity, current, origin=origin, event="identity.password_changed", reason="wrong_current")
    try:
        identities.set_password(identity, new or "", origin=origin, reason="changed", keep_sid=keep_sid)
    except ValidationFailed as rejected:
        problems = getattr(rejected, "problems", None) or [str(rejected)]
        raise FormRejected({"new_password": " ".join(str(problem) for problem in problems)}) from rejected
    notice = password_notice.enqueue(identity, locale)
    db.session.commit()
    mail.deliver_now(notice)  # a notice only: if it fails now, the outbox retries it


def active_sessions(identity: Identity) -> list[LoginSession]:
    return db.session.execute(
        db.select(LoginSession)
        .where(LoginSession.identity_id == identity.id, LoginSession.ended_at.is_(None),
               LoginSession.expires_at > clock.now())
        .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc())
    ).scalars().all()


def end_session(identity: Identity, session_id: int, *, origin: Origin) -> LoginSession:
    """End one of the person's own sessions; someone else's is as good as missing. One that
    has ended already (a double click) is left as it is."""
    found = db.session.get(LoginSession, session_id)
    if found is None or found.identity_id != identity.id:
        raise NotFound()
    if found.is_active():
        sessions.end(found, origin=origin, reason="account_page")
    return found


def end_other_sessions(identity: Identity, *, origin: Origin, keep_sid: str) -> int:
    ended = sessions.end_all(identity, origin=origin, reason="account_page", keep_sid=keep_sid)
    db.session.commit()
    return ended


def consents(identity: Identity) -> list:
    """(Consent, Client) rows, newest first."""
    return db.session.execute(
        db.select(Consent, Client).join(Client, Client.id == Consent.client_id)
        .where(Consent.identity_id == identity.id)
        .order_by(Consent.granted_at.desc(), Consent.id.desc())
    ).all()


def revoke_consent(identity: Identity, consent_id: int, *, origin: Origin) -> Client:
    """Forget the consent and revoke the person's tokens for that service, offline ones too."""
    consent = db.session.get(Consent, consent_id)
    if consent is None or consent.identity_id != identity.id:
        raise NotFound()
    client = db.session.get(Client, consent.client_id)
    # A code the service has not exchanged yet would give it tokens after this. Withdrawn
    # before the person's row is held, in the order an exchange takes them (the code, then
    # the person's row): one under way commits first, and its tokens are revoked below.
    db.session.execute(db.delete(AuthorizationCode).where(
        AuthorizationCode.identity_id == identity.id, AuthorizationCode.client_id == client.id,
        AuthorizationCode.used_at.is_(None)))
    Identity.lock(identity.id)  # a token request under way commits first, its tokens then revoked here
    revoked = db.session.execute(
        db.update(Token)
        .where(Token.identity_id == identity.id, Token.client_id == client.id, Token.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    ).rowcount
    if not db.session.execute(db.delete(Consent).where(Consent.id == consent.id)).rowcount:
        db.session.rollback()  # the click before revoked it (a double click): recorded once
        return client
    audit.record("consent.revoked", origin=origin, identity=identity, client_id=client.client_id,
                 tokens_revoked=revoked)
    db.session.commit()
    return client
