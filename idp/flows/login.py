"""Identifier-first login: email, then password, then a session.

States: identify -> password -> done. "Not you?" moves password -> identify.
The diagram is docs/flows/login.md.
"""
from __future__ import annotations

from enum import Enum

from ..errors import IdpError
from ..extensions import db
from ..methods import password as password_method
from ..services import sessions
from ..services.audit import Origin
from .base import Flow


class State(str, Enum):
    IDENTIFY = "identify"
    PASSWORD = "password"
    DONE = "done"


class EmailNotVerified(IdpError):
    """The password was right, but the address was never proven: verify it before signing in."""
    id = "email_not_verified"
    status = 403

    def __init__(self, identity):
        super().__init__()
        self.identity = identity


class LoginFlow(Flow):
    KIND = "login"
    State = State
    INITIAL = State.IDENTIFY
    MOVES = {
        (State.IDENTIFY, "identify"): State.PASSWORD,
        (State.PASSWORD, "identify"): State.PASSWORD,
        (State.PASSWORD, "change_identifier"): State.IDENTIFY,
        (State.PASSWORD, "authenticated"): State.DONE,
    }

    @property
    def email(self) -> str:
        return self.data.get("email", "")

    @property
    def return_to(self) -> str | None:
        return self.data.get("return_to")

    def identify(self, email: str) -> None:
        """Any address moves on to the password step: existence is never revealed here."""
        self.transition("identify")
        self.update(email=email.strip()[:320])
        db.session.commit()

    def change_identifier(self) -> None:
        self.transition("change_identifier")
        db.session.commit()

    def submit_password(self, password: str, remember: bool, origin: Origin):
        """Authenticate; on success the flow is done and a new session is returned."""
        identity = password_method.authenticate(self.email, password, origin=origin)
        if not identity.email_verified:
            raise EmailNotVerified(identity)
        self.transition("authenticated")
        return sessions.start(identity, amr=["pwd"], acr=password_method.ACR, remember=remember, origin=origin)
