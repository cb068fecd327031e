"""The challenge of one WebAuthn ceremony (adding a passkey or signing in with one).

Kept on the server with what it is for (its purpose, and the person when it is known),
bound to the browser that asked for it, short-lived and used once: a signed answer to
it is worth nothing a second time. Stored as a flow (flows table) of its own kind.
"""
from __future__ import annotations

import datetime as dt
from enum import Enum

from flask_babel import lazy_gettext as _l
from joserfc.util import urlsafe_b64decode, urlsafe_b64encode

from ..errors import FlowExpired, IdpError, NotFound
from ..extensions import db
from ..flows.base import Flow
from ..models import Flow as StoredFlow
from ..services import clock

# Long enough to find the phone or security key, well short of a login flow's life.
TTL = dt.timedelta(minutes=5)


def b64url(data: bytes) -> str:
    """Unpadded base64url, as the challenge and a passkey's stored values are kept."""
    return urlsafe_b64encode(data).decode("ascii")


def unb64url(text: str) -> bytes:
    return urlsafe_b64decode(text.encode("ascii"))


class PasskeyRejected(IdpError):
    """`reason`: unknown (no such passkey here), expired (challenge old or already
    used), duplicate (added already) or invalid (anything else about the answer)."""
    id = "passkey_rejected"
    MESSAGES = {
        "unknown": _l("This passkey is not registered in Tunnus. Choose another passkey, or sign in with "
                      "your email address."),
        "expired": _l("That took too long. Try again."),
        "duplicate": _l("This passkey is already in your account."),
        "invalid": _l("The passkey could not be verified. Try again."),
    }

    def __init__(self, reason: str):
        super().__init__(self.MESSAGES[reason])
        self.reason = reason
        self.status = 401 if reason == "unknown" else 400


class State(str, Enum):
    WAITING = "waiting"
    USED = "used"


class PasskeyCeremony(Flow):
    KIND = "passkey"
    State = State
    INITIAL = State.WAITING

    @classmethod
    def begin(cls, browser: str, purpose: str, challenge: bytes, **data) -> "PasskeyCeremony":
        ceremony = cls.start(browser, purpose=purpose, challenge=b64url(challenge), **data)
        ceremony.stored.expires_at = min(ceremony.stored.expires_at, clock.now() + TTL)
        db.session.commit()
        return ceremony

    @classmethod
    def use(cls, ceremony_id: str, browser: str, purpose: str) -> "PasskeyCeremony":
        """The ceremony, used up; claimed in one statement so two requests carrying the
        same answer cannot both pass."""
        try:
            ceremony = cls.load(ceremony_id, browser)
        except (NotFound, FlowExpired) as gone:
            raise PasskeyRejected("expired") from gone
        claimed = db.session.execute(
            db.update(StoredFlow)
            .where(StoredFlow.id == ceremony.id, StoredFlow.state == State.WAITING.value)
            .values(state=State.USED.value)
        ).rowcount == 1
        db.session.commit()
        if not claimed or ceremony.data.get("purpose") != purpose:
            raise PasskeyRejected("expired")
        return ceremony

    @property
    def challenge(self) -> bytes:
        return unb64url(self.data["challenge"])
