"""Changing the sign-in email: the new address proves itself before anything changes.

States: code_sent -> done. The new address gets a 6-digit code and a link (either one
works, IDP_VERIFICATION_TTL); only then does the email change, and the old address is
told. An address that already belongs to someone else gets an "already in use" notice
instead of a code, and the page looks the same, so nobody learns which addresses have
an account. The diagram is docs/flows/email_change.md.
"""
from __future__ import annotations

import datetime as dt
from enum import Enum

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..errors import NotFound
from ..extensions import db
from ..models import Identity
from ..models.identity import normalise_email
from ..services import account, audit, challenges, clock, digits, journeys, links, mail
from ..services.account import FormRejected
from ..services.audit import Origin
from ..services.identities import valid_email
from ..services.unique_rows import changed_unless_taken
from .base import Flow


class State(str, Enum):
    CODE_SENT = "code_sent"
    DONE = "done"


class EmailChangeFlow(Flow):
    KIND = "email_change"
    State = State
    INITIAL = State.CODE_SENT
    MOVES = {(State.CODE_SENT, "verified"): State.DONE}
    ENDED_TITLE = _l("The email address was not changed")
    ENDED = {
        journeys.PASSWORD_CHANGED: _l("The password of the account was changed after this change of email address "
                                      "was asked for, so the change was cancelled and the sign-in email stays as it "
                                      "was. To change it, sign in and start again on your account page."),
        journeys.SIGNED_OUT: _l("The account was logged out on all devices after this change of email address was "
                                "asked for, so the change was cancelled and the sign-in email stays as it was. To "
                                "change it, sign in and start again on your account page."),
        journeys.EMAIL_CHANGED: _l("Another change of the sign-in email was confirmed after this one was asked for, "
                                   "so this one was cancelled. To change the address, sign in and start again on "
                                   "your account page."),
    }

    @property
    def new_email(self) -> str:
        return self.data["new_email"]

    @property
    def identity_email(self) -> str | None:
        """The account's address now (before the change, the one being left)."""
        identity = db.session.get(Identity, self.data["identity_id"])
        return identity.email if identity is not None else None

    @property
    def usable(self) -> bool:
        return self.state is State.CODE_SENT and challenges.usable(self.data["challenge"])

    @classmethod
    def begin(cls, identity: Identity, new_email: str, current_password: str, *, browser: str, locale: str,
              origin: Origin) -> tuple["EmailChangeFlow", bool]:
        """Start and mail the new address; returns the flow and whether the mail left.

        The current password is asked: whoever holds only a stolen session could otherwise
        move the account to an address of theirs and reset its password from there."""
        new_email = (new_email or "").strip()
        if not valid_email(new_email):
            raise FormRejected({"new_email": _l("Enter a valid email address, such as name@example.com.")})
        if normalise_email(new_email) == identity.email_normalized:
            raise FormRejected({"new_email": _l("This is already your sign-in email address.")})
        account.confirm_password(identity, current_password, origin=origin, event="email_change.requested")
        ttl = current_app.config["IDP_VERIFICATION_TTL"]
        code, token, challenge = challenges.issue(ttl)
        flow = cls.start(browser, identity_id=identity.id, new_email=new_email, challenge=challenge,
                         password_version=journeys.password_version(identity))
        flow.stored.expires_at = clock.now() + dt.timedelta(seconds=ttl)
        owner = Identity.by_email(new_email)
        if owner is None:
            link = links.external("account.confirm_email", flow_id=flow.id, token=token)
            message = mail.enqueue("email_change_code", new_email, locale, identity=identity,
                                   code=digits.readable(code), link=link, ttl=ttl)
        else:
            message = mail.enqueue("email_in_use", new_email, owner.locale or locale, identity=owner,
                                   link=links.external("account.home"))
        audit.record("email_change.requested", origin=origin, identity=identity, address_in_use=owner is not None)
        db.session.commit()
        return flow, mail.deliver_now(message)

    @classmethod
    def load_for(cls, flow_id: str, browser: str, identity: Identity) -> "EmailChangeFlow":
        flow = cls.load(flow_id, browser)
        if flow.data.get("identity_id") != identity.id:
            raise NotFound()
        return flow

    def enter_code(self, code: str, *, origin: Origin, locale: str) -> None:
        self._lock()
        accepted, record = challenges.redeem_code(self.data["challenge"], code)
        self.update(challenge=record)
        if not accepted:
            db.session.commit()
            if not challenges.usable(record):
                raise FormRejected({"code": _l("This code is no longer valid. Start the change again.")})
            raise FormRejected({"code": _l("The code is not correct. Attempts left: %(count)d.",
                                           count=challenges.attempts_left(record))})
        self._complete(origin, locale, problem_at="code")

    def follow_link(self, token: str, *, origin: Origin, locale: str) -> None:
        self._lock()
        accepted, record = challenges.redeem_token(self.data["challenge"], token)
        if not accepted:
            raise FormRejected({"link": _l("This link is no longer valid. Start the change again.")})
        self.update(challenge=record)
        self._complete(origin, locale, problem_at="link")

    def _complete(self, origin: Origin, locale: str, *, problem_at: str) -> None:
        """`problem_at`: where the page shows why the change failed (the code field, or
        the page the mailed link opens)."""
        identity = db.session.get(Identity, self.data["identity_id"])
        if identity is not None and self._password_changed(identity):
            # Asked with a password the account no longer has: whoever asked may have stolen it.
            # The change of password ended this flow already (services/journeys.py); this
            # holds should the password change some other way.
            raise self.end(journeys.PASSWORD_CHANGED)
        taken = Identity.by_email(self.new_email)
        if identity is None or taken is not None and taken.id != identity.id:
            self._taken(problem_at)
        old_email = identity.email
        # Another account may take the address at this very moment (its own change confirmed
        # at once, a registration): the unique index decides, as if this came a moment later.
        if not changed_unless_taken(lambda: identity.set_email(self.new_email),
                                    lambda: Identity.by_email(self.new_email)):
            self._taken(problem_at)
        identity.email_verified = True
        self.transition("verified")
        # What the old address was mailed (a reset code, a registration's code) opens nothing now.
        journeys.end_about(identity.id, because=journeys.EMAIL_CHANGED, keep=(self.id,))
        audit.record("email.changed", origin=origin, identity=identity, old=old_email, new=identity.email)
        notice = mail.enqueue("email_changed_notice", old_email, identity.locale or locale, identity=identity,
                              new_email=identity.email, when=clock.now())
        db.session.commit()
        # Left in the outbox on failure: `tunnus mail send` retries it.
        mail.deliver_now(notice)

    def _taken(self, problem_at: str):
        # Someone took the address after the code was sent; only its holder learns it.
        db.session.commit()
        raise FormRejected({problem_at: _l("This address now belongs to another account.")})
