"""Identifier-first login: email, then password, then a session.

States: identify -> password -> steps -> done. "Not you?" moves password -> identify.
A passkey on the first page moves identify -> steps: it named and verified the person.
The diagram is docs/flows/login.md.
"""
from __future__ import annotations

from enum import Enum

from flask_babel import lazy_gettext as _l

from ..errors import IdpError, InvalidCredentials
from ..models import Identity
from ..extensions import db
from ..methods import levels
from ..methods import passkey as passkey_method
from ..methods import password as password_method
from ..methods.upstream import Identified
from ..services import identities, journeys, legacy_login, mail, password_check, sessions, upstreams
from ..services.identities import valid_email
from ..services.audit import Origin
from . import login_steps
from .base import Flow, IllegalMove


class State(str, Enum):
    IDENTIFY = "identify"
    PASSWORD = "password"
    STEPS = "steps"
    DONE = "done"


class EmailNotVerified(IdpError):
    """The password was right, but the address was never proven: verify it before signing in."""
    id = "email_not_verified"
    status = 403

    def __init__(self, identity, adopt_hash: str | None = None):
        super().__init__()
        self.identity = identity
        # An old system's password opened it: adopted once the address is proven in this login.
        self.adopt_hash = adopt_hash


class LoginFlow(Flow):
    KIND = "login"
    State = State
    INITIAL = State.IDENTIFY
    MOVES = {
        (State.IDENTIFY, "identify"): State.PASSWORD,
        (State.IDENTIFY, "authenticated"): State.STEPS,
        (State.PASSWORD, "identify"): State.PASSWORD,
        (State.PASSWORD, "change_identifier"): State.IDENTIFY,
        (State.PASSWORD, "authenticated"): State.STEPS,
        (State.STEPS, "finished"): State.DONE,
    }
    ENDED_TITLE = _l("Sign in again")
    ENDED = {
        journeys.PASSWORD_CHANGED: _l("The password of this account was changed after this sign-in began, so it "
                                      "cannot be finished. Sign in again with the current password."),
        journeys.SIGNED_OUT: _l("This account was logged out on all devices after this sign-in began, so it "
                                "cannot be finished. Sign in again."),
        journeys.EMAIL_CHANGED: _l("The sign-in email of this account was changed after this sign-in began, so it "
                                   "cannot be finished. Sign in again with the new email address."),
    }

    def identify(self, identifier: str) -> None:
        """Any address moves on to the password step: existence is never revealed here.
        An old login name moves on too, with the email to use shown masked; one that looks
        like an address is signed in with as a login name when no identity has that address
        (legacy_login.by_login_name). Its hint is shown whether or not an identity has the
        address, so the hint tells no more than for any other old login name: that it is one."""
        identifier = identifier.strip()[:320]
        self.transition("identify")
        old_name = not valid_email(identifier) or legacy_login.is_login_name(identifier)
        legacy = old_name and legacy_login.by_login_name(identifier)
        self.update(email=identifier, legacy=legacy, old_name=old_name,
                    email_hint=legacy_login.email_hint(identifier) if old_name else None)
        db.session.commit()

    @property
    def legacy(self) -> bool:
        """The password is checked as an old login name's (else as an email address's)."""
        return bool(self.data.get("legacy"))

    @property
    def old_name(self) -> bool:
        """What was typed is an old login name (or, without "@", may be one): the page says
        to sign in with an email address from now on."""
        return bool(self.data.get("old_name", self.legacy))

    def change_identifier(self) -> None:
        self.transition("change_identifier")
        db.session.commit()

    def submit_password(self, password: str, remember: bool, origin: Origin) -> None:
        """Check the first factor; then the remaining steps (see next_step) lead to a session."""
        if self.legacy:
            identity = legacy_login.authenticate(self.email, password, origin=origin)
        else:
            identity = password_method.authenticate(self.email, password, origin=origin)
        if not identity.email_verified:
            raise EmailNotVerified(identity, password_check.to_adopt(identity, identities.bounded(password)))
        self._lock()  # a double click's second post finds the first's move made (IllegalMove)
        self._authenticated(identity, ["pwd"], remember)

    def submit_passkey(self, ceremony_id: str, credential: str, origin: Origin) -> None:
        """A passkey instead of email and password (PasskeyRejected if it is not accepted)."""
        if (self.state, "authenticated") not in self.MOVES:
            raise IllegalMove()
        identity, amr = passkey_method.authenticate(ceremony_id, self.stored.browser, credential, origin=origin)
        self._lock()
        self.update(email=identity.email)
        self._authenticated(identity, [amr], remember=False)

    @classmethod
    def after_first_factor(cls, identity, browser: str, *, amr: list[str], remember: bool,
                           return_to: str | None, **data) -> "LoginFlow":
        """A login whose first factor was proven elsewhere (registration, password reset):
        it still takes every remaining step, a second factor included. `data` marks the
        steps it has on top (recovery_id: the reset's new password, reset_step.py)."""
        flow = cls.start(browser, return_to=return_to, email=identity.email, **data)
        flow.stored.state = State.PASSWORD.value
        flow._authenticated(identity, amr, remember)
        return flow

    def _authenticated(self, identity, amr: list[str], remember: bool) -> None:
        self.transition("authenticated")
        self.update(identity_id=identity.id, amr=amr, remember=remember, steps_done=[],
                    password_version=journeys.password_version(identity))
        db.session.commit()

    def _person_gone(self) -> Exception:
        # The account was deleted as the sign-in went on: refused as at an address without one.
        return InvalidCredentials()

    @property
    def resetting_password(self) -> bool:
        """This login carries a password reset's new password (reset_step.py)."""
        return bool(self.data.get("recovery_id"))

    @property
    def identity(self) -> Identity:
        identity = db.session.get(Identity, self.data["identity_id"])
        if identity is None:  # deleted since the password was checked: as for no account
            raise InvalidCredentials()
        return identity

    def next_step(self):
        """The first step still to do, or None when the session may start."""
        identity = self.identity
        done = set(self.data.get("steps_done", []))
        return next((step for step in login_steps.STEPS
                     if step.name not in done and step.needed(self, identity)), None)

    def complete_step(self, name: str, amr: str | None = None) -> None:
        if self.state is not State.STEPS:
            raise IllegalMove()
        self.update(steps_done=[*self.data.get("steps_done", []), name],
                    amr=[*self.data["amr"], *([amr] if amr and amr not in self.data["amr"] else [])])
        db.session.commit()

    def finish(self, origin: Origin, replacing=None):
        """Start the session once no step is left (renewing `replacing`, this browser's
        current session, when it is the same person's).

        Under the person's and the flow's locks (_lock): a double click's second request
        finds the session started (IllegalMove), and "log out other devices" either comes
        after the session or ended this journey before it. Before, both requests started a
        session, and one waiting for the logout started its own after it."""
        self._lock()
        if self.state is not State.STEPS or self.next_step() is not None:
            raise IllegalMove()
        if self._password_changed(self.identity):
            # Proven with a password the account no longer has. A change of password ends
            # every login under way (services/journeys.py); this holds should one outlive it.
            raise self.end(journeys.PASSWORD_CHANGED)
        pending, notice = self.data.get("upstream_link"), None
        if pending:  # an upstream identification's link, made only now (flows/identification.py)
            provider = upstreams.get(pending["upstream_id"], pending.get("issuer"))
            notice = upstreams.record(provider, Identified(**pending["identified"]), self.identity, origin=origin)
        self.transition("finished")
        amr = self.data["amr"]
        started = sessions.start(self.identity, amr=amr, acr=levels.acr_for(amr), remember=self.data["remember"],
                                 origin=origin, replacing=replacing)
        if notice is not None:
            mail.deliver_now(notice)  # a new way into the account: told now (the outbox retries it)
        return started
