"""A pending authorization request: stored while the user logs in or consents.

States: started -> consented. Resuming checks the login happened after the request
started, which is how prompt=login and max_age are satisfied without a loop.
"""
from __future__ import annotations

from enum import Enum

from ..flows.base import Flow


class State(str, Enum):
    STARTED = "started"
    CONSENTED = "consented"


class PendingAuthorization(Flow):
    KIND = "authorize"
    State = State
    INITIAL = State.STARTED
    MOVES = {(State.STARTED, "consent"): State.CONSENTED}

    @property
    def params(self) -> dict:
        return self.data["params"]

    @property
    def consented(self) -> bool:
        return self.state == State.CONSENTED
