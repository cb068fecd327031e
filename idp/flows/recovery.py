"""Forgotten password: prove the email address with a mailed code or link, then choose a
new password. An old login name (services/legacy_login) stands for its account's address.

States: request -> code_sent -> new_password -> done, or request -> not_sent when the
mail could not be sent. On an account with a second factor the mailbox alone changes
nothing: code_sent -> second_factor, a login asks for it (reset_step.py), and only then
-> new_password. The diagram is docs/flows/recovery.md.
"""
from __future__ import annotations

import datetime as dt
from enum import Enum

from ..errors import NotFound, ValidationFailed
from ..extensions import db
from ..methods import second_factor
from .login import LoginFlow
from ..models import Identity
from ..models.outbox import FAILED
from ..services import (audit, challenges, clock, digits, identities, legacy_login, links, mail,
                        password_notice, password_policy)
from ..services.audit import Origin
from .base import Flow, IllegalMove
from .reset_step import STEP as RESET_STEP

CODE_TTL = 30 * 60
# Time to type the new password once the address is proven; the proof is not reusable.
NEW_PASSWORD_TTL = 15 * 60


class State(str, Enum):
    REQUEST = "request"
    CODE_SENT = "code_sent"
    NOT_SENT = "not_sent"
    SECOND_FACTOR = "second_factor"
    NEW_PASSWORD = "new_password"
    DONE = "done"


class NewPasswordRejected(ValidationFailed):
    id = "new_password_rejected"

    def __init__(self, problems: list[str], mismatch: bool = False):
        super().__init__(" ".join(problems))
        self.problems = problems
        self.mismatch = mismatch


class AlreadyDone(IllegalMove):
    """The new password was set a moment ago, from another tab or by a double click."""
    id = "recovery_done"


class RecoveryFlow(Flow):
    KIND = "recovery"
    State = State
    INITIAL = State.REQUEST
    MOVES = {
        (State.REQUEST, "sent"): State.CODE_SENT,
        (State.REQUEST, "not_sent"): State.NOT_SENT,
        (State.CODE_SENT, "proven"): State.NEW_PASSWORD,
        (State.CODE_SENT, "factor_asked"): State.SECOND_FACTOR,
        (State.SECOND_FACTOR, "factor_given"): State.NEW_PASSWORD,
        (State.NEW_PASSWORD, "password_set"): State.DONE,
    }

    @classmethod
    def load_asked(cls, flow_id: str, browser: str) -> "RecoveryFlow":
        """The flow for the browser that asked for the code, also after the mailed link
        moved it elsewhere: the asking browser then only learns that the code was used."""
        flow = cls.load(flow_id, None)
        if browser not in (flow.stored.browser, flow.data.get("asked_by")):
            raise NotFound()
        return flow

    def belongs_to(self, browser: str) -> bool:
        return self.stored.browser == browser

    @property
    def attempts_left(self) -> int:
        return challenges.attempts_left(self.data["challenge"])

    def void_reason(self) -> str | None:
        """Why the code and link no longer work ('used', 'too_many', 'expired'), or None."""
        record = self.data.get("challenge")
        if self.state is not State.CODE_SENT or record["used"]:
            return "used"
        if not challenges.usable(record):
            return "expired" if record["expires_at"] <= clock.timestamp() else "too_many"
        return None

    @property
    def by_login_name(self) -> bool:
        return bool(self.data.get("by_login_name"))

    @property
    def account_email(self) -> str:
        """The address of the account being reset (the person may have typed an old user
        name): what a password manager should save the new password under."""
        identity = db.session.get(Identity, self.data["identity_id"]) if self.data.get("identity_id") else None
        return identity.email if identity is not None else self.email

    def request(self, identifier: str, ui_locale: str, origin: Origin) -> bool:
        """Mail a code and link if the address (or old login name) has an account; False if
        the mail failed.

        An unknown address is mailed too, that no account uses it (perhaps the person
        signed up with another one), and gets a challenge no code or link can ever match:
        the journey looks, counts and takes as long as for an account, so neither the page
        nor its timing tells whether there is one (OWASP's Forgot Password Cheat Sheet).
        An unknown, unmerged or shared login name has no address to mail; its page looks
        the same, though it is quicker (the login page's masked hint already tells which
        login names lead to an account).
        """
        identifier = identifier.strip()[:320]
        by_login_name = legacy_login.by_login_name(identifier)
        identity = legacy_login.identity_for(identifier) if by_login_name else Identity.by_email(identifier)
        code, token, record = challenges.issue(CODE_TTL)
        self.stored.expires_at = clock.now() + dt.timedelta(seconds=CODE_TTL)
        if identity is None and by_login_name:
            record, message = {**record, "code": "", "token": ""}, None
            audit.record("recovery.requested", "failure", origin=origin, reason="unknown_login_name")
        elif identity is None:
            record = {**record, "code": "", "token": ""}
            message = mail.enqueue("reset_no_account", identifier, ui_locale, email=identifier,
                                   reset_link=links.external("recovery.start"),
                                   register_link=links.external("register.start"))
            audit.record("recovery.requested", "failure", origin=origin, reason="unknown_email")
        else:
            message = mail.enqueue("reset_password", identity.email, identity.locale or ui_locale, identity=identity,
                                   code=digits.readable(code), ttl=CODE_TTL, email=identity.email,
                                   link=links.external("recovery.link", flow_id=self.id, token=token))
            audit.record("recovery.requested", origin=origin, identity=identity)
        self.update(email=identifier, by_login_name=by_login_name, identity_id=identity.id if identity else None,
                    challenge=record)
        db.session.commit()
        if message is None or mail.deliver_now(message):
            self.transition("sent")
            db.session.commit()
            return True
        # The page tells the person it was not sent: a late retry would contradict it.
        message.close(FAILED)
        self.update(challenge={**record, "used": True})
        self.transition("not_sent")
        audit.record("recovery.mail_failed", "failure", origin=origin, identity=identity)
        db.session.commit()
        return False

    def submit_code(self, code: str, origin: Origin) -> bool:
        self._lock()
        if self.void_reason():
            return False
        accepted, record = challenges.redeem_code(self.data["challenge"], code)
        self.update(challenge=record)
        if accepted:
            self._proven(origin, "code")
        else:
            audit.record("recovery.code_wrong", "failure", origin=origin, identity=self.data["identity_id"],
                         attempts_left=challenges.attempts_left(record))
        db.session.commit()
        return accepted

    def link_accepts(self, token: str) -> bool:
        """Whether the link's token would be accepted, without using it up: mail scanners
        fetch links, so only the person's confirming post redeems it."""
        return not self.void_reason() and challenges.redeem_token(self.data["challenge"], token)[0]

    def open_link(self, token: str, browser: str, origin: Origin) -> bool:
        """Accept the mailed link in whichever browser opened it; the flow moves there."""
        self._lock()
        if self.void_reason():
            return False
        accepted, record = challenges.redeem_token(self.data["challenge"], token)
        if not accepted:
            audit.record("recovery.link_rejected", "failure", origin=origin, identity=self.data["identity_id"])
            db.session.commit()
            return False
        self.update(challenge=record)
        if browser != self.stored.browser:
            # The pending login waiting for return_to belongs to the browser that asked.
            self.update(return_to=None, asked_by=self.stored.browser)
            self.stored.browser = browser
        self._proven(origin, "link")
        db.session.commit()
        return True

    def _proven(self, origin: Origin, method: str) -> None:
        self.stored.expires_at = clock.now() + dt.timedelta(seconds=NEW_PASSWORD_TTL)
        audit.record("recovery.proven", origin=origin, identity=self.data["identity_id"], method=method)
        identity = db.session.get(Identity, self.data["identity_id"])
        if not second_factor.methods(identity):
            self.transition("proven")
            return
        # Whoever reads the mailbox must not change the password (and end the owner's
        # sessions) with it alone: the login's second-factor step comes first, with its
        # own limits, lock and audit events, and the new password is its next step.
        self.transition("factor_asked")
        login = LoginFlow.after_first_factor(identity, self.stored.browser, amr=[], remember=False,
                                             return_to=self.return_to, recovery_id=self.id)
        self.update(login_id=login.id)

    @property
    def login_id(self) -> str | None:
        """The login that asks this reset's second factor (None: the account has none)."""
        return self.data.get("login_id")

    def factor_given(self) -> bool:
        """Whether the new password may be chosen: the second factor, if one is asked, was
        given in this browser's login (its next step is this reset's new password)."""
        if self.state is State.SECOND_FACTOR:
            step = LoginFlow.load(self.login_id, self.stored.browser).next_step()
            if step is None or step.name != RESET_STEP:
                return False
            self.transition("factor_given")
            self.stored.expires_at = clock.now() + dt.timedelta(seconds=NEW_PASSWORD_TTL)
            db.session.commit()
        return self.state is State.NEW_PASSWORD

    def set_password(self, password: str, confirm: str, ui_locale: str, origin: Origin):
        """Set the new password, end every other session, and return a fresh one.

        Under the flow's lock: two tabs posting their passwords at once would otherwise both
        set theirs (only the last one working), mail twice and each start a session. The
        later one waits and finds the reset done (AlreadyDone), its password not set."""
        self._lock()
        if self.state is State.DONE:
            raise AlreadyDone()
        if self.state is not State.NEW_PASSWORD:  # before the second factor, nothing may change
            raise IllegalMove()
        identity = db.session.get(Identity, self.data["identity_id"])
        if password != confirm:
            raise NewPasswordRejected(password_policy.problems(password, identity.email, identity.name), True)
        try:
            # Every other journey about the person ends (an earlier reset's link, a login
            # parked at its second factor); this one and the login it goes on as do not.
            identities.set_password(identity, password, origin=origin, reason="reset",
                                    keep_journeys=(self.id, self.login_id))
        except ValidationFailed as error:
            raise NewPasswordRejected(getattr(error, "problems", [str(error)])) from error
        self.transition("password_set")
        # The emailed code or link proved the person reads this address (a campaign asking
        # for both steps counts the reset as both).
        identity.email_verified = True
        audit.record("email.verified", origin=origin, identity=identity, method="recovery")
        notice = password_notice.enqueue(identity, ui_locale)
        audit.record("recovery.completed", origin=origin, identity=identity)
        # The login commits the new password, the ended sessions, the notice and this flow together;
        # it still takes every remaining login step (a second factor is not bypassed by a reset;
        # when one was asked before the password, the same login goes on without asking again).
        if self.login_id:
            login = LoginFlow.load(self.login_id, self.stored.browser)
            login.update(amr=["pwd", *login.data["amr"]])  # first, as in any login's amr
            login.complete_step(RESET_STEP)
        else:
            login = LoginFlow.after_first_factor(identity, self.stored.browser, amr=["pwd"], remember=False,
                                                 return_to=self.return_to)
        mail.deliver_now(notice)  # a notice only: if it fails now, the outbox retries it
        return login
