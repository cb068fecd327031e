"""A flow is a stored, expiring journey with named states and a table of allowed moves.

Subclasses name their states and MOVES = {(state, event): next_state}. A flow knows
nothing of Flask: the web layer passes in the browser binding and renders the state.
"""
from __future__ import annotations

import datetime as dt
from enum import Enum

from flask import current_app
from sqlalchemy import exc as sa_exc
from flask_babel import lazy_gettext as _l

from ..errors import FlowExpired, IdpError, InvalidCredentials, JourneyEnded, NotFound
from ..extensions import db
from ..models import Flow as StoredFlow, Identity
from ..models.flow import person_in
from ..services import clock, journeys


class IllegalMove(IdpError):
    id = "illegal_move"
    status = 409


class Flow:
    KIND = ""
    State: type[Enum]
    INITIAL: Enum
    MOVES: dict[tuple[Enum, str], Enum] = {}
    # What someone coming back to the journey after it was ended (services/journeys.py) reads.
    ENDED_TITLE = _l("No longer valid")
    ENDED = {
        journeys.PASSWORD_CHANGED: _l("The password of the account was changed after this began, so it cannot be "
                                      "continued. Please start again."),
        journeys.SIGNED_OUT: _l("The account was logged out on all devices after this began, so it cannot be "
                                "continued. Please start again."),
        journeys.EMAIL_CHANGED: _l("The sign-in email of the account was changed after this began, so it cannot be "
                                   "continued. Please start again."),
    }

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
        checking a code or replacing a challenge, and before changing anything in the flow:
        requests at once (a burst of guesses, a double click, several worker processes) then
        take turns, each seeing what the one before wrote, instead of each writing its own
        copy of the data over the others' (a burst of wrong codes counting as one).

        The person the journey is about first (Identity.lock), then the flow: the order of
        every request about a person (docs/resilience.md). A change of password, "log out
        everywhere" and deleting the account hold the person and then end their journeys, so
        a step either finishes before them, or waits and finds its journey ended (expired, the
        account gone), as it would a moment later."""
        person = person_in(self.data)
        gone = person is not None and not Identity.lock(person)
        db.session.refresh(self.stored, with_for_update=True)
        if gone:
            raise self._person_gone()
        if self.stored.is_expired():
            raise self._over()

    def _person_gone(self) -> Exception:
        """What a step is answered when the account it is about was deleted meanwhile."""
        return self._over()

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
        flow = cls(cls._find(flow_id, browser))
        if flow.stored.is_expired():
            raise flow._over()
        return flow

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

    def _over(self) -> FlowExpired:
        """What whoever comes back to this journey once it expired, or was ended, is answered."""
        # A reason this release does not know (ended by a newer one during an upgrade): expired.
        known = self.stored.ended_because in self.ENDED
        return self.ended() if known else FlowExpired(again=self.started_from())

    def ended(self) -> JourneyEnded:
        """What is shown, and audited, to whoever comes back to this journey once it was ended."""
        because = self.stored.ended_because
        return JourneyEnded(title=self.ENDED_TITLE, message=self.ENDED[because], kind=self.KIND, because=because,
                            identity_id=person_in(self.data),
                            again=self.started_from())

    def end(self, because: str) -> JourneyEnded:
        """End this journey now, for good (see ended); the caller raises what it returns."""
        self.stored.end(because)
        db.session.commit()
        return self.ended()

    def _password_changed(self, identity) -> bool:
        """Has the account's password changed since this journey saw it proven (noted as
        `password_version`)? One begun before such notes were kept has none to compare.

        Read under a row lock held until the transaction ends: a change of password made at
        the same moment is either seen here, or waits and then sees (and ends) what this
        journey made. FOR NO KEY UPDATE, as a change of password takes: it leaves alone
        the holds (models/identity.py) of the person's other requests at this moment."""
        try:
            db.session.refresh(identity, with_for_update={"key_share": True})
        except sa_exc.InvalidRequestError:  # deleted meanwhile (services/account_deletion.py)
            raise InvalidCredentials() from None
        current = journeys.password_version(identity)
        return self.data.get("password_version", current) != current

    def transition(self, event: str) -> Enum:
        target = self.MOVES.get((self.state, event))
        if target is None:
            raise IllegalMove()
        self.stored.state = target.value
        return target
