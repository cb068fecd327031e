"""A flow is a stored, expiring journey with named states and a table of allowed moves.

Subclasses name their states and MOVES = {(state, event): next_state}. A flow knows
nothing of Flask: the web layer passes in the browser binding and renders the state.
"""
from __future__ import annotations

import datetime as dt
from enum import Enum

from flask import current_app

from ..errors import FlowExpired, IdpError, NotFound
from ..extensions import db
from ..models import Flow as StoredFlow
from ..services import clock


class IllegalMove(IdpError):
    id = "illegal_move"
    status = 409


class Flow:
    KIND = ""
    State: type[Enum]
    INITIAL: Enum
    MOVES: dict[tuple[Enum, str], Enum] = {}

    def __init__(self, stored: StoredFlow):
        self.stored = stored

    @property
    def id(self) -> str:
        return self.stored.id

    @property
    def state(self) -> Enum:
        return self.State(self.stored.state)

    @property
    def data(self) -> dict:
        return self.stored.data

    @property
    def email(self) -> str:
        """The address the journey is about, as typed."""
        return self.data.get("email", "")

    @property
    def return_to(self) -> str | None:
        """Where to go when the journey is done (a path on this server)."""
        return self.data.get("return_to")

    def _lock(self) -> None:
        """Re-read the flow under a row lock held until the transaction ends. Call it before
        checking a code or replacing a challenge: requests at once (a burst of guesses, a
        double click, several worker processes) then take turns, each seeing what the one
        before wrote, instead of each writing its own copy of the data over the others'
        (a burst of wrong codes counting as one)."""
        db.session.refresh(self.stored, with_for_update=True)

    def update(self, **values) -> None:
        # Reassign so SQLAlchemy sees the JSON column change.
        self.stored.data = {**self.stored.data, **values}

    @classmethod
    def start(cls, browser: str, **data) -> "Flow":
        ttl = current_app.config["IDP_FLOW_TTL"]
        now = clock.now()
        stored = StoredFlow(kind=cls.KIND, state=cls.INITIAL.value, data=data, browser=browser,
                            created_at=now, expires_at=now + dt.timedelta(seconds=ttl))
        db.session.add(stored)
        db.session.commit()
        return cls(stored)

    @classmethod
    def load(cls, flow_id: str, browser: str | None) -> "Flow":
        """The flow, if this browser started it. browser=None is only for links sent by
        mail, which may be opened anywhere and must carry their own proof (a token)."""
        stored = cls._find(flow_id, browser)
        if stored.is_expired():
            raise FlowExpired(again=cls(stored).started_from())
        return cls(stored)

    @classmethod
    def _find(cls, flow_id: str, browser: str | None) -> StoredFlow:
        """The stored flow of this kind that this browser started, expired or not."""
        stored = db.session.get(StoredFlow, flow_id) if flow_id and len(flow_id) <= 64 else None
        if stored is None or stored.kind != cls.KIND or (browser is not None and stored.browser != browser):
            raise NotFound()
        return stored

    def started_from(self) -> str | None:
        """Where this journey starts anew once it has expired, so that the person is not
        left at a bare sign-in page that has forgotten the service they came from."""
        return self.return_to

    def transition(self, event: str) -> Enum:
        target = self.MOVES.get((self.state, event))
        if target is None:
            raise IllegalMove()
        self.stored.state = target.value
        return target


def expire_about(identity_id: int, keep: str | None = None) -> None:
    """Journeys under way about this person (a reset waiting for its code, a login at its
    second step, a registration's code for the owner...) expire now, all but `keep`: after
    the account is deleted or moves to another address, they would act on what no longer
    holds. The caller commits."""
    now = clock.now()
    db.session.execute(db.update(StoredFlow).where(
        StoredFlow.expires_at > now, StoredFlow.id != (keep or ""),
        db.or_(StoredFlow.data["identity_id"].as_integer() == identity_id,
               StoredFlow.data["owner_id"].as_integer() == identity_id)).values(expires_at=now))
