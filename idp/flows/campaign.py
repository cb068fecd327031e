"""A campaign's journey: prove the email address, then choose a new password.

Two ways in, one flow. At login (CampaignStep, one of login_steps.STEPS): after the
right password, a member with pending actions gets a 6-digit code by mail, then sets a
new password, and the login continues. From the mailed link: confirming it proves the
address (the link reached the inbox), then the new password; that visit signs in to
nothing. States: start -> code_sent -> password -> done; start -> password when the
address needs no code; the password state is skipped when not asked for. The link
proves only the mailbox: on an account with a second factor it leads to start -> sign_in,
and the new password is asked at login, after the second factor (as a reset asks it).
The diagram is docs/flows/campaign.md.
"""
from __future__ import annotations

import datetime as dt
from enum import Enum

from ..errors import IdpError, ValidationFailed
from ..extensions import db
from ..methods import second_factor
from ..models import Campaign, CampaignMember, Identity
from ..models.campaign import RUNNING
from ..services import audit, campaigns, challenges, clock, digits, identities, links, mail, password_policy
from ..services.audit import Origin
from ..services.challenges import CodeRejected
from .base import Flow

CODE_TTL = 30 * 60
STEP = "campaign"


class State(str, Enum):
    START = "start"
    CODE_SENT = "code_sent"
    PASSWORD = "password"
    SIGN_IN = "sign_in"
    DONE = "done"


class NewPasswordRejected(ValidationFailed):
    id = "campaign_password_rejected"

    def __init__(self, problems: list[str], mismatch: bool = False):
        super().__init__(" ".join(map(str, problems)))
        self.problems, self.mismatch = problems, mismatch


class CampaignWithdrawn(IdpError):
    """The campaign was cancelled while this journey was under way: it ended, doing nothing."""
    id = "campaign_withdrawn"
    status = 410

    def __init__(self, login_id: str | None):
        super().__init__()
        self.login_id = login_id


class CampaignStep:
    """The login step: needed while a started campaign asks this person for something
    and 'remind me later' is not holding it off."""
    name = STEP

    def needed(self, flow, identity) -> bool:
        return campaigns.asking(identity) is not None

    def url(self, flow) -> str:
        from flask import url_for

        return url_for("campaign.step", login_id=flow.id)


class CampaignFlow(Flow):
    KIND = "campaign"
    State = State
    INITIAL = State.START
    MOVES = {
        (State.START, "code_sent"): State.CODE_SENT,
        (State.CODE_SENT, "code_sent"): State.CODE_SENT,
        (State.START, "address_proven"): State.PASSWORD,
        (State.START, "sign_in_first"): State.SIGN_IN,
        (State.CODE_SENT, "address_proven"): State.PASSWORD,
        (State.START, "completed"): State.DONE,
        (State.CODE_SENT, "completed"): State.DONE,
        (State.PASSWORD, "completed"): State.DONE,
    }

    @property
    def login_id(self) -> str | None:
        """The login this journey is a step of; None when it came from the mailed link."""
        return self.data.get("login_id")

    @property
    def identity(self) -> Identity:
        return db.session.get(Identity, self.data["identity_id"])

    @property
    def code_void(self) -> bool:
        return not challenges.usable(self.data.get("challenge"))

    def _member(self):
        member = db.session.get(CampaignMember, self.data["member_id"])
        return member, campaigns.get(member.campaign_id)

    @classmethod
    def at_login(cls, login, member, campaign, *, locale: str, origin: Origin) -> "CampaignFlow":
        identity = login.identity
        flow = cls.start(login.stored.browser, login_id=login.id, member_id=member.id, identity_id=identity.id,
                         email=identity.email)
        # The person, then this journey, before the record below holds the person's row: an
        # email change confirmed meanwhile writes the address, which waits for that hold,
        # and the step would wait for the change in turn (docs/resilience.md).
        flow._lock()
        audit.record("campaign.step_started", origin=origin, identity=identity, campaign=campaign.id)
        if "verify_email" in campaigns.missing(member, campaign):
            flow.send_code(locale, origin)
        else:
            flow._address_done()
        return flow

    @classmethod
    def from_link(cls, member, campaign, *, browser: str, origin: Origin) -> "CampaignFlow":
        """The person confirmed the mailed link: that proves the address.

        An address nobody had proven yet is marked proven only with the new password. Its
        password may be someone else's (anyone can register any address), and proving the
        address must not hand that person a verified account: the new password replaces it
        and ends their sessions, and leaving before it changes nothing."""
        campaigns.note_link_opened(member, origin)
        identity = db.session.get(Identity, member.identity_id)
        flow = cls.start(browser, login_id=None, member_id=member.id, identity_id=identity.id, email=identity.email,
                         address_proven=True, verify_with_password=not identity.email_verified)
        # The person, then this journey, before both change below: one flush writes the
        # journey's row before the person's, while a change of password ending the journey
        # meanwhile holds the person's first.
        flow._lock()
        if "change_password" in campaigns.missing(member, campaign) and second_factor.methods(identity):
            # Whoever reads the mailbox must not change the password (and end the owner's
            # sessions) with it alone: CampaignStep asks for it after the second factor.
            if identity.email_verified:
                flow._verified("campaign_link", origin, campaign=campaign.id)
            flow.transition("sign_in_first")
            db.session.commit()
        elif identity.email_verified:
            flow._verified("campaign_link", origin, campaign=campaign.id)
            flow._address_done()
        else:
            flow.transition("address_proven")
            db.session.commit()
        return flow

    def send_code(self, locale: str, origin: Origin) -> bool:
        """Mail a fresh code (earlier ones stop working); False if it could not be sent now."""
        self._lock()
        code, _token, record = challenges.issue(CODE_TTL)
        self.transition("code_sent")
        self.update(challenge=record)
        self.stored.expires_at = max(self.stored.expires_at, clock.now() + dt.timedelta(seconds=CODE_TTL))
        identity = self.identity
        message = mail.enqueue("campaign_code", identity.email, identity.locale or locale, identity=identity,
                               name=identity.name, code=digits.readable(code), ttl=CODE_TTL)
        audit.record("campaign.code_sent", origin=origin, identity=identity)
        db.session.commit()
        sent = mail.deliver_now(message)
        self.update(delivery="sent" if sent else "failed")
        db.session.commit()
        return sent

    @property
    def delivery_failed(self) -> bool:
        return self.data.get("delivery") == "failed"

    @property
    def address_proven(self) -> bool:
        """Whether this visit proved the address (else only a new password was asked)."""
        return bool(self.data.get("address_proven"))

    @property
    def password_set(self) -> bool:
        """Whether this journey set a new password (else the campaign asked only the address)."""
        return bool(self.data.get("password_set"))

    @property
    def verify_with_password(self) -> bool:
        """Whether the address counts as proven only once the new password is set."""
        return bool(self.data.get("verify_with_password"))

    def _still_asked(self) -> None:
        """Under the journey's lock: a campaign cancelled since it began asks nothing more.
        Its row is held (FOR KEY SHARE) until this step commits, so a cancel at the same
        moment comes after it, or first."""
        running = db.session.execute(
            db.select(Campaign.status).where(Campaign.id == CampaignMember.campaign_id,
                                             CampaignMember.id == self.data["member_id"])
            .with_for_update(read=True, key_share=True)).scalar_one() == RUNNING
        if not running:
            self.stored.end(None)
            db.session.commit()
            raise CampaignWithdrawn(self.login_id)

    def enter_code(self, code: str, origin: Origin) -> None:
        """A second post of the same code (a double click) waits, and finds the address
        proven: nothing to do, and no code error to show for it."""
        self._lock()
        if self.state in (State.PASSWORD, State.DONE):
            return
        self._still_asked()
        if self.state is not State.CODE_SENT:
            raise CodeRejected(0)
        accepted, record = challenges.redeem_code(self.data["challenge"], code)
        self.update(challenge=record)
        if not accepted:
            audit.record("campaign.code_wrong", "failure", origin=origin, identity=self.data["identity_id"])
            db.session.commit()
            raise CodeRejected(challenges.attempts_left(record) if challenges.usable(record) else 0)
        self._verified("campaign_code", origin)
        self.update(address_proven=True)
        db.session.commit()
        self._address_done()

    def _verified(self, method: str, origin: Origin, **details) -> None:
        identity = self.identity
        identity.email_verified = True
        audit.record("email.verified", origin=origin, identity=identity, method=method, **details)

    def _address_done(self) -> None:
        member, campaign = self._member()
        self.transition("address_proven" if "change_password" in campaigns.missing(member, campaign) else "completed")
        db.session.commit()

    def set_password(self, password: str, confirm: str, *, locale: str, origin: Origin) -> None:
        """Under the journey's lock (the person, then the flow): a change of the sign-in email,
        of the password or "log out everywhere" made at the same moment either comes after,
        or ends this journey first, which then sets nothing. A second post of the same page
        (a double click) waits and finds the step done."""
        self._lock()
        if self.state is not State.PASSWORD:
            return
        self._still_asked()
        identity = self.identity
        if password != confirm:
            raise NewPasswordRejected(password_policy.problems(password, identity.email, identity.name), True)
        try:
            # Every other journey about the person ends (a login parked at this same step with
            # the old password); this one and the login it is a step of go on.
            identities.set_password(identity, password, origin=origin, reason="campaign",
                                    keep_journeys=(self.id, self.login_id))
        except ValidationFailed as error:
            raise NewPasswordRejected(getattr(error, "problems", [str(error)])) from error
        if self.verify_with_password:  # only now: a refused password proves nothing
            self._verified("campaign_link", origin, campaign=self._member()[1].id)
        self.transition("completed")
        self.update(password_set=True)
        notice = mail.enqueue("password_changed", identity.email, identity.locale or locale, identity=identity,
                              email=identity.email, when=clock.now(),
                              recovery_link=links.external("recovery.start", email=identity.email))
        db.session.commit()
        mail.deliver_now(notice)  # a notice only: if it fails now, the outbox retries it
