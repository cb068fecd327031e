"""An old account without a usable email adds one before its first login goes on.

States: ask -> code_sent -> done. The old password already opened the account; its
argon2 hash waits in the flow until the code from the new address proves the address.
Then the account joins the identity of that address (a new one if there is none) and
the login continues through the usual steps. Diagram: docs/flows/legacy_email.md.
"""
from __future__ import annotations

from enum import Enum

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..errors import ValidationFailed
from ..extensions import db
from ..models import Identity, LegacyAccount
from ..services import audit, challenges, digits, identities, links, mail
from ..services.audit import Origin
from ..services.challenges import CodeRejected
from .base import Flow
from .login import LoginFlow


class State(str, Enum):
    ASK = "ask"
    CODE_SENT = "code_sent"
    DONE = "done"


class LegacyEmailFlow(Flow):
    KIND = "legacy_email"
    State = State
    INITIAL = State.ASK
    MOVES = {
        (State.ASK, "send"): State.CODE_SENT,
        (State.CODE_SENT, "send"): State.CODE_SENT,
        (State.CODE_SENT, "verified"): State.DONE,
    }

    @classmethod
    def begin(cls, account: LegacyAccount, password_hash: str, browser: str, *, return_to, remember) -> "LegacyEmailFlow":
        return cls.start(browser, account_id=account.id, password_hash=password_hash, return_to=return_to,
                         remember=remember)

    @property
    def attempts_left(self) -> int:
        return challenges.attempts_left(self.data["challenge"]) if self.data.get("challenge") else 0

    def send_code(self, email: str, locale: str, origin: Origin) -> bool:
        """Mail a code to the address; False when the mail could not be sent."""
        email = email.strip()
        if not identities.valid_email(email):
            raise ValidationFailed(_l("Enter a valid email address, such as name@example.com."))
        self._lock()
        code, _token, record = challenges.issue(current_app.config["IDP_VERIFICATION_TTL"])
        self.transition("send")
        self.update(email=email, challenge=record)
        message = mail.enqueue("legacy_email_code", email, locale, identity=Identity.by_email(email),
                               code=digits.readable(code), login_url=links.external("login.start"))
        audit.record("legacy.email_code_sent", origin=origin, account_id=self.data["account_id"])
        db.session.commit()
        return mail.deliver_now(message)

    def verify(self, code: str, origin: Origin) -> LoginFlow:
        self._lock()
        accepted, record = challenges.redeem_code(self.data["challenge"], code)
        self.update(challenge=record)
        if not accepted:
            audit.record("legacy.email_code_wrong", "failure", origin=origin, account_id=self.data["account_id"])
            db.session.commit()
            raise CodeRejected(challenges.attempts_left(record))
        account = db.session.get(LegacyAccount, self.data["account_id"])
        identity = Identity.by_email(self.email)
        if identity is None:
            identity = Identity(name=account.name or "", phone=account.phone, email_verified=True,
                                password_hash=self.data["password_hash"])
            identity.set_email(self.email)
            db.session.add(identity)
            db.session.flush()
        else:
            identities.prove_address(identity, self.data["password_hash"], method="legacy_email_code", origin=origin)
        account.identity_id = identity.id
        self.transition("verified")
        audit.record("legacy.account_merged", origin=origin, identity=identity, system=account.system,
                     legacy_id=account.legacy_id)
        db.session.commit()
        return LoginFlow.after_first_factor(identity, self.stored.browser, amr=["pwd"],
                                            remember=bool(self.data.get("remember")), return_to=self.return_to)
