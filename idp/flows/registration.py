"""Registration: a form, then proof of the email address (emailed code or link), then signed in.

States: form -> verify -> done. The account is made only once the address is proven:
until then the form's name and password (hashed) wait in the flow. So an address
registered but never proven has no account, and signing in with the password chosen is
answered as for any address without one: nobody learns, by registering an address and
then signing in, whether it had an account before. Someone whose password was right at
login but whose address is still unverified (an imported account) enters at verify. An
address that already has an account gets a "you already have an account" mail instead,
and the pages look exactly the same. That mail carries a code, no link: typed on the
page, it proves the address as a reset would and makes the password just chosen the
account's own (how a customer whose account was imported follows "create an account").
A link could be opened by the owner in any browser, giving a stranger's password to
their account. The diagram is docs/flows/registration.md.
"""
from __future__ import annotations

import datetime as dt
from enum import Enum

from flask import current_app
from flask_babel import gettext as _, lazy_gettext as _l

from ..errors import Conflict, FlowExpired, IdpError, ValidationFailed
from ..extensions import db
from .login import LoginFlow
from ..models import Identity
from ..methods import second_factor
from ..models.identity import composed_email, normalise_email
from ..services import (audit, challenges, clock, digits, identities, links, mail, names, password_check,
                        password_notice, password_policy, passwords)
from ..services.audit import Origin
from ..services.challenges import CodeRejected
from .base import Flow


class State(str, Enum):
    FORM = "form"
    VERIFY = "verify"
    DONE = "done"


class FormRejected(ValidationFailed):
    """Field name -> what to change, for each field that was not accepted."""
    id = "registration_rejected"

    def __init__(self, problems: dict[str, list[str]]):
        super().__init__(" ".join(m for messages in problems.values() for m in messages))
        self.problems = problems


class LinkRejected(IdpError):
    id = "link_rejected"


class AddressTaken(IdpError):
    """A registration's link, opened in another browser, proves an address that got an
    account after the form was sent: the password chosen was typed elsewhere."""
    id = "address_taken"
    status = 409
    title = _l("You already have an account")
    message = _l("This address has an account already. Sign in to it, or reset its password if you have "
                 "forgotten it.")


class OwnerHasSecondFactor(AddressTaken):
    """The address's account has a second factor: the mailbox alone does not give it a new
    password (nor end its sessions), as a reset by email does not. Before, the code from
    the "you already have an account" mail did both."""
    id = "owner_has_second_factor"
    message = _l("This address already has an account, protected by two-step verification. Sign in to it, or "
                 "reset its password if you have forgotten it.")


class RegistrationFlow(Flow):
    KIND = "registration"
    State = State
    INITIAL = State.FORM
    MOVES = {
        (State.FORM, "submit"): State.VERIFY,
        (State.FORM, "login_unverified"): State.VERIFY,
        (State.VERIFY, "resend"): State.VERIFY,
        (State.VERIFY, "verified"): State.DONE,
    }

    @property
    def delivery_failed(self) -> bool:
        return self.data.get("delivery") == "failed"

    @property
    def code_void(self) -> bool:
        return not challenges.usable(self.data.get("challenge"))

    @classmethod
    def for_unverified_login(cls, identity: Identity, browser: str, *, return_to: str | None, remember: bool,
                             locale: str, origin: Origin, adopt_hash: str | None = None) -> "RegistrationFlow":
        """The password was right but the address is unproven: prove it, then continue the login.
        `adopt_hash`: an old system's password opened; it becomes the identity's own when the
        address is proven in this browser (see _adopt)."""
        flow = cls.start(browser, return_to=return_to, email=identity.email, identity_id=identity.id,
                         remember=remember, adopt_hash=adopt_hash, signing_in=True)
        flow.transition("login_unverified")
        audit.record("verification.sent", origin=origin, identity=identity, reason="login_unverified")
        flow._send(locale)
        return flow

    def submit(self, email: str, name: str, password: str, repeat: str, *, locale: str, origin: Origin) -> None:
        email, name = email.strip(), names.one_line(name)
        problems = _form_problems(email, name, password, repeat)
        if problems:
            raise FormRejected(problems)
        self._lock()
        if self.state is not State.FORM:  # a double click: the other click made the account and mailed
            return
        self.transition("submit")
        existing = Identity.by_email(email)
        # Hashed for either: it becomes the new account's password once the address is
        # proven, or the owner's only if the owner's code is typed here.
        self.update(email=email, identity_id=None, owner_id=existing.id if existing else None, locale=locale,
                    name=None if existing else name, password_hash=passwords.hash_password(password))
        audit.record("registration.existing_email" if existing else "registration.started", origin=origin,
                     identity=existing)
        self._send(locale)

    def resend(self, *, locale: str, origin: Origin) -> None:
        self._lock()
        self.transition("resend")
        audit.record("verification.resent", origin=origin, identity=self.data.get("identity_id"))
        self._send(locale)

    def verify_code(self, code: str, origin: Origin):
        """A new LoginSession once the code is right; CodeRejected(attempts_left) if not."""
        self._lock()
        accepted, record = challenges.redeem_code(self.data.get("challenge"), code)
        self.update(challenge=record)
        if not accepted:
            left = challenges.attempts_left(record) if challenges.usable(record) else 0
            audit.record("verification.code_wrong", "failure", origin=origin,
                         identity=self.data.get("identity_id"), attempts_left=left)
            db.session.commit()
            raise CodeRejected(left)
        return self._session_for(self._verified("code", origin, here=True), origin)

    def link_accepts(self, token: str) -> bool:
        return challenges.token_matches(self.data.get("challenge"), token)

    def verify_link(self, token: str, *, browser: str, origin: Origin):
        """Verify by the mailed link; a LoginSession only in the browser that started the flow
        (that browser typed the password; any other merely holds the mail)."""
        self._lock()
        accepted, record = challenges.redeem_token(self.data.get("challenge"), token)
        if not accepted:
            raise LinkRejected()
        self.update(challenge=record)
        here = browser == self.stored.browser
        identity = self._verified("link", origin, here=here)
        return self._session_for(identity, origin) if here else None

    def _verified(self, method: str, origin: Origin, *, here: bool) -> Identity:
        """`here`: in the browser that started the flow (and typed the password)."""
        if self.data.get("identity_id") is None and self.data.get("owner_id") is None:
            self._create(origin, here=here)
        identity_id = self.data["identity_id"]
        identity = db.session.get(Identity, identity_id if identity_id is not None else self.data["owner_id"])
        if identity is None or (identity_id is None and identity.email_normalized != normalise_email(self.email)):
            raise FlowExpired()  # the account was deleted, or moved to another address, meanwhile
        if identity_id is None and second_factor.methods(identity):
            audit.record("registration.claim_refused", "failure", origin=origin, identity=identity,
                         reason="second_factor")
            db.session.commit()
            raise OwnerHasSecondFactor()
        notice = self._claim(identity, origin) if identity_id is None else None
        if identity_id is not None:
            self._adopt(identity, origin, here=here)
        identity.email_verified = True
        self.transition("verified")
        audit.record("email.verified", origin=origin, identity=identity, method=method)
        db.session.commit()
        if notice is not None:
            mail.deliver_now(notice)  # a notice only: if it fails now, the outbox retries it
        return identity

    def _create(self, origin: Origin, *, here: bool) -> None:
        """The new account, now that its address is proven. If the address got one meanwhile
        (another registration proven first, an import, an operator), proven here it is as
        the owner's code typed here (the claim follows); by a link opened elsewhere, where
        nobody typed the password, it is refused."""
        try:
            identity = identities.added(self.email, None, self.data["name"], locale=self.data["locale"],
                                        origin=origin, password_hash=self.data["password_hash"])
        except Conflict:
            existing = Identity.by_email(self.email)
            if here and existing is not None:
                self.update(owner_id=existing.id, name=None)
                return
            db.session.commit()  # the code or link stays used
            raise AddressTaken()
        self.update(identity_id=identity.id, password_hash=None, name=None)

    def _claim(self, identity: Identity, origin: Origin):
        """The owner's code was typed here: the password chosen here becomes theirs, as after
        a reset (every other session ends, the old systems' passwords stop opening)."""
        identities.replace_password(identity, self.data["password_hash"], origin=origin, reason="registration",
                                    keep_journeys=(self.id,))
        self.update(identity_id=identity.id, password_hash=None)
        return password_notice.enqueue(identity, self.data["locale"])

    def _adopt(self, identity: Identity, origin: Origin, *, here: bool) -> None:
        """The old password typed at this login becomes the identity's own now that its
        address is proven here, and the other old passwords stop opening. Not from a link
        opened elsewhere: the mailbox's owner there may not be who typed it (a family
        sharing an address); those old passwords then keep opening, and the first one used
        after the proof is adopted at login. Nor once the identity has a password of its own
        (set meanwhile by a reset, or adopted from another login)."""
        adopt_hash = self.data.get("adopt_hash")
        if here and adopt_hash and not identity.password_hash:
            password_check.adopt(identity, adopt_hash)
            audit.record("legacy.password_adopted", origin=origin, identity=identity)
        self.update(adopt_hash=None)

    def _session_for(self, identity: Identity, origin: Origin) -> LoginFlow:
        """The login this registration becomes: the password was typed here, the rest
        (any further login step) follows as for every login."""
        return LoginFlow.after_first_factor(identity, self.stored.browser, amr=["pwd"],
                                            remember=bool(self.data.get("remember")), return_to=self.return_to)

    def _send(self, locale: str) -> bool:
        """Mail a fresh code and link (or, for a taken address, the 'already registered' note)."""
        if self.data.get("identity_id") is None and self.data.get("owner_id") is None:
            existing = Identity.by_email(self.email)  # the address got an account since the form was sent
            if existing is not None:
                self.update(owner_id=existing.id, name=None)
        ttl = current_app.config["IDP_VERIFICATION_TTL"]
        code, token, record = challenges.issue(ttl)
        # The flow outlives its code, so an expired code can still be replaced by a new one.
        self.stored.expires_at = clock.now() + dt.timedelta(seconds=ttl + current_app.config["IDP_FLOW_TTL"])
        identity_id = self.data.get("identity_id")
        if identity_id is not None or self.data.get("owner_id") is None:
            identity = db.session.get(Identity, identity_id) if identity_id is not None else None
            link = links.external("register.verify_link", flow_id=self.id, token=token)
            message = mail.enqueue("verify_email", identity.email if identity else composed_email(self.email), locale,
                                   identity=identity, code=digits.readable(code), link=link, ttl=ttl,
                                   signing_in=bool(self.data.get("signing_in")))
        else:
            # A code only: no link, and a token nothing can match (see the module's docstring).
            record = {**record, "token": challenges.issue(ttl)[2]["token"]}
            owner = db.session.get(Identity, self.data["owner_id"])
            if owner is None:  # deleted meanwhile: no code can match either, nobody to mail
                record, message = {**record, "code": record["token"]}, None
            else:
                # The owner's language, as a reset's mail: not that of whoever typed the address.
                message = mail.enqueue("already_registered", owner.email, owner.locale or locale, identity=owner,
                                       name=owner.name, code=digits.readable(code), ttl=ttl,
                                       login_link=links.external("login.start"))
        self.update(challenge=record, delivery=None)
        db.session.commit()
        sent = message is None or mail.deliver_now(message)
        self.update(delivery="sent" if sent else "failed")
        db.session.commit()
        return sent


def _form_problems(email: str, name: str, password: str, repeat: str) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not identities.valid_email(email):
        problems["email"] = [_("Enter a valid email address, such as name@example.com.")]
    if not name:
        problems["name"] = [_("Enter your name.")]
    elif len(name) > identities.MAX_NAME_LENGTH:
        problems["name"] = [_("Use at most %(count)d characters in your name.", count=identities.MAX_NAME_LENGTH)]
    found = password_policy.problems(password, email, name)
    if found:
        problems["password"] = found
    elif password != repeat:
        problems["password_repeat"] = [_("The passwords do not match. Type the same password in both fields.")]
    return problems
