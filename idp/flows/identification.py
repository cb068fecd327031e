"""Strong identification through an upstream provider (a bank ID), for login or step-up.

States: started -> done, or started -> email -> code_sent -> done, or (a step-up linking
a new identification) started -> password -> done; started -> failed.
The browser goes to the provider with this flow's id as `state`, so only the browser
that started it can finish it, once. A person the provider identified who has no Tunnus
identity yet gives an email address and proves it with a code; the address's identity
(a new one, named with the verified name and without a password, if there is none) is
then linked, once the login has been through its usual steps (a second factor
included); a step-up raises the level of the signed-in session, once the person has typed
their password if it links an identification new to the account: the session alone (a
shared computer, a stolen cookie) must not add someone's own bank ID as a way into the
account. Diagram: docs/flows/identification.md.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import asdict
from enum import Enum

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..errors import Conflict, IdpError, ValidationFailed
from ..extensions import db
from ..methods import levels
from ..methods import upstream as upstream_method
from ..methods.upstream import Identified, UpstreamRefused
from ..models import Identity
from ..services import account, audit, challenges, clock, digits, identities, mail, upstreams
from ..services.audit import Origin
from ..services.challenges import CodeRejected
from .base import Flow, IllegalMove
from .login import LoginFlow


REFUSALS = (UpstreamRefused, upstreams.LinkedElsewhere, upstreams.IdentifiedAsAnother)


class State(str, Enum):
    STARTED = "started"
    EMAIL = "email"
    CODE_SENT = "code_sent"
    PASSWORD = "password"
    DONE = "done"
    FAILED = "failed"


class IdentificationFlow(Flow):
    KIND = "identification"
    State = State
    INITIAL = State.STARTED
    MOVES = {
        (State.STARTED, "identified"): State.DONE,
        (State.STARTED, "needs_email"): State.EMAIL,
        (State.STARTED, "failed"): State.FAILED,
        (State.STARTED, "needs_password"): State.PASSWORD,
        (State.PASSWORD, "identified"): State.DONE,
        (State.PASSWORD, "failed"): State.FAILED,
        (State.EMAIL, "send"): State.CODE_SENT,
        (State.CODE_SENT, "send"): State.CODE_SENT,
        (State.CODE_SENT, "verified"): State.DONE,
        (State.CODE_SENT, "failed"): State.FAILED,
    }

    @classmethod
    def begin(cls, provider, browser: str, *, return_to: str | None, step_up_sid: str | None,
              ui_locales: str, origin: Origin) -> tuple["IdentificationFlow", str]:
        """The flow and the provider's authorization URL to send the browser to."""
        upstream_method.metadata(provider)  # unreachable provider: no flow is left behind
        nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        flow = cls.start(browser, upstream_id=provider.id, issuer=provider.issuer, return_to=return_to,
                         sid=step_up_sid, nonce=nonce, code_verifier=verifier)
        url = upstream_method.authorization_url(provider, state=flow.id, nonce=nonce, code_verifier=verifier,
                                                 redirect_uri=upstreams.callback_url(provider), ui_locales=ui_locales)
        audit.record("upstream.started", origin=origin, upstream_id=provider.id, step_up=step_up_sid is not None)
        db.session.commit()
        return flow, url

    @classmethod
    def for_callback(cls, state: str, browser: str, provider) -> "IdentificationFlow":
        """The flow this answer belongs to; the wrong browser, provider or a used flow is refused."""
        try:
            flow = cls.load(state, browser)
        except IdpError as error:
            raise UpstreamRefused("state_mismatch") from error
        if not upstreams.same(provider, flow.data) or flow.state is not State.STARTED:
            raise UpstreamRefused("state_mismatch")
        return flow

    @property
    def provider(self):
        return upstreams.get(self.data["upstream_id"], self.data.get("issuer"))

    @property
    def identified(self) -> Identified:
        return Identified(**self.data["identified"])

    @property
    def step_up(self) -> bool:
        return self.data.get("sid") is not None

    def complete(self, response: dict, login_session, *, origin: Origin) -> LoginFlow | None:
        """Check the provider's answer. A login continues as the returned LoginFlow; a step-up
        is done (None, state done); a person new to Tunnus is asked an address (state email)."""
        self._lock()  # the same answer twice at once (a double click) is checked once
        if self.state is not State.STARTED:
            refused = UpstreamRefused("state_mismatch")
            self._record(refused, origin)
            raise refused
        provider = self.provider
        try:
            identified = upstream_method.identify(provider, response, nonce=self.data["nonce"],
                                                  code_verifier=self.data["code_verifier"],
                                                  redirect_uri=upstreams.callback_url(provider))
            if self.step_up:
                if login_session is None or login_session.sid != self.data["sid"]:
                    raise UpstreamRefused("session_changed")
                upstreams.check(provider, identified, login_session.identity)
                if not upstreams.linked(provider, identified, login_session.identity):
                    self.transition("needs_password")
                    self.update(identified=asdict(identified))
                    db.session.commit()
                    return None
                self._step_up(login_session, provider, identified, origin)
                return None
            identity = upstreams.known_identity(provider, identified)
            if identity is not None:
                upstreams.check(provider, identified, identity)
        except REFUSALS as error:
            self._fail(error, origin)
            raise
        if identity is None:
            self.transition("needs_email")
            self.update(identified=asdict(identified), email=identified.email or "")
            db.session.commit()
            return None
        self.transition("identified")
        db.session.commit()
        return self._login(identity, identified)

    def confirm(self, password: str, login_session, *, origin: Origin) -> None:
        """The signed-in person's password, before their session is stepped up with an
        identification new to the account (linked to it now). FormRejected when it is not
        right, or the account has none (as for a second factor: set one first)."""
        self._lock()
        if self.state is not State.PASSWORD:  # a double click: the other click linked it
            raise IllegalMove()
        try:
            if login_session is None or login_session.sid != self.data["sid"]:
                raise UpstreamRefused("session_changed")
            account.confirm_password(login_session.identity, password, origin=origin, event="upstream.linked")
            self._step_up(login_session, self.provider, self.identified, origin)
        except REFUSALS as error:
            self._fail(error, origin)
            raise

    def _step_up(self, login_session, provider, identified: Identified, origin: Origin) -> None:
        notice = upstreams.record(provider, identified, login_session.identity, origin=origin)
        upstreams.step_up(login_session, provider, origin=origin)
        self.transition("identified")
        db.session.commit()
        if notice is not None:
            mail.deliver_now(notice)  # a notice only: if it fails now, the outbox retries it

    def send_code(self, email: str, *, locale: str, origin: Origin) -> bool:
        """Mail a code to the address; False when the mail could not be sent."""
        email = email.strip()
        if not identities.valid_email(email):
            raise ValidationFailed(_l("Enter a valid email address, such as name@example.com."))
        self._lock()
        ttl = current_app.config["IDP_VERIFICATION_TTL"]
        code, _token, record = challenges.issue(ttl)
        # The flow outlives its code, as a registration's does: the mail says how long the
        # code works, and an expired code can still be replaced by a new one.
        self.stored.expires_at = clock.now() + dt.timedelta(seconds=ttl + current_app.config["IDP_FLOW_TTL"])
        self.transition("send")
        self.update(email=email, challenge=record, delivery=None)
        # Named with the address's identity, if it has one: its data download lists the mail.
        message = mail.enqueue("upstream_email_code", email, locale, identity=Identity.by_email(email),
                               code=digits.readable(code), ttl=ttl)
        audit.record("upstream.email_code_sent", origin=origin, upstream_id=self.data["upstream_id"])
        db.session.commit()
        sent = mail.deliver_now(message)
        self.update(delivery="sent" if sent else "failed")
        db.session.commit()
        return sent

    @property
    def delivery_failed(self) -> bool:
        return self.data.get("delivery") == "failed"

    @property
    def code_void(self) -> bool:
        return not challenges.usable(self.data.get("challenge"))

    def verify(self, code: str, *, locale: str, origin: Origin) -> LoginFlow:
        """The address is proven: link its identity (a new one if none) and sign in."""
        self._lock()
        accepted, record = challenges.redeem_code(self.data.get("challenge"), code)
        self.update(challenge=record)
        if not accepted:
            left = challenges.attempts_left(record) if challenges.usable(record) else 0
            audit.record("upstream.email_code_wrong", "failure", origin=origin, upstream_id=self.data["upstream_id"],
                         attempts_left=left)
            db.session.commit()
            raise CodeRejected(left)
        identified = self.identified
        identity = Identity.by_email(self.email)
        if identity is None:
            try:
                identity = identities.create(self.email, None, identified.name, verified=True, locale=locale,
                                             origin=origin)
            except Conflict:  # registered a moment ago
                identity = Identity.by_email(self.email)
        identities.prove_address(identity, None, method="upstream_email_code", origin=origin)
        try:
            upstreams.check(self.provider, identified, identity)
        except REFUSALS as error:
            self._fail(error, origin)
            raise
        self.transition("verified")
        db.session.commit()
        return self._login(identity, identified)

    def _fail(self, error: IdpError, origin: Origin) -> None:
        db.session.rollback()  # nothing of the refused answer stays
        self.transition("failed")
        self._record(error, origin)

    def _record(self, error: IdpError, origin: Origin) -> None:
        audit.record("upstream.identified", "failure", origin=origin, upstream_id=self.data["upstream_id"],
                     reason=getattr(error, "reason", error.id))
        db.session.commit()

    def _login(self, identity: Identity, identified: Identified) -> LoginFlow:
        # The link (and the strong identification it gives the account) is made when the
        # login finishes, after its second factor: an address proven by its mailbox, or
        # vouched for by the provider, must not tie a bank identity to an account whose
        # owner has not signed in.
        return LoginFlow.after_first_factor(identity, self.stored.browser, amr=[levels.FEDERATED], remember=False,
                                            return_to=self.return_to,
                                            upstream_link={"upstream_id": self.data["upstream_id"],
                                                           "issuer": self.data.get("issuer"),
                                                           "identified": asdict(identified)})
