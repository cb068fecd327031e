"""A pending authorization request: stored while the user logs in or consents.

States: started -> consented -> answered. Resuming checks the login happened after the
request started, which is how prompt=login and max_age are satisfied without a loop.
Once the client has its answer (a code or an error) the request cannot be resumed: it
would issue another code, counting the same login as fresh again.
"""
from __future__ import annotations

from enum import Enum
from urllib.parse import urlencode

from ..errors import FlowExpired
from ..flows.base import Flow


class State(str, Enum):
    STARTED = "started"
    CONSENTED = "consented"
    ANSWERED = "answered"


class PendingAuthorization(Flow):
    KIND = "authorize"
    State = State
    INITIAL = State.STARTED
    MOVES = {
        (State.STARTED, "consent"): State.CONSENTED,
        (State.STARTED, "answered"): State.ANSWERED,
        (State.CONSENTED, "answered"): State.ANSWERED,
    }

    @classmethod
    def load(cls, flow_id: str, browser: str | None) -> "PendingAuthorization":
        pending = super().load(flow_id, browser)
        if pending.state is State.ANSWERED:
            raise FlowExpired()
        return pending

    def started_from(self) -> str | None:
        # The relying service's request as it came: made again, it is a new pending request.
        # Not once answered: the request has had its one answer, even after it expired.
        return None if self.state is State.ANSWERED else "/authorize?" + urlencode(self.params)

    @property
    def params(self) -> dict:
        return self.data["params"]

    @property
    def consented(self) -> bool:
        return self.state == State.CONSENTED
