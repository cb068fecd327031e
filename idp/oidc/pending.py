"""A pending authorization request: stored while the user logs in or consents.

States: started -> consented -> answered. Resuming checks the login happened after the
request started, which is how prompt=login and max_age are satisfied without a loop.
Once the client has its answer (a code or an error) the request cannot be resumed: it
would issue another code, counting the same login as fresh again.
"""
from __future__ import annotations

from enum import Enum
from urllib.parse import urlencode

from ..errors import FlowExpired, NotFound
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
        if self.state is State.ANSWERED:
            return None
        if self.pushed:
            # Its request_uri is used up (RFC 9126 §4), and its parameters were pushed so as
            # not to travel in a URL: it starts again from them (start_again).
            return f"/authorize/again/{self.id}"
        return "/authorize?" + urlencode(self.params)

    @classmethod
    def start_again(cls, flow_id: str, browser: str) -> "PendingAuthorization":
        """This browser's pushed request as a new pending request, once the earlier one has
        expired unanswered; the earlier one while it lasts. The request the relying service
        authenticated at /par, made again by the browser it was sent to, as an ordinary
        request is by its URL."""
        earlier = cls(cls._find(flow_id, browser))
        if not earlier.pushed:
            raise NotFound()
        if earlier.state is State.ANSWERED:
            raise FlowExpired()
        if not earlier.stored.is_expired():
            return earlier
        return cls.start(browser, params=earlier.params, pushed=True)

    @property
    def pushed(self) -> bool:
        """Did the relying service push this request to /par (RFC 9126)?"""
        return bool(self.data.get("pushed"))

    @property
    def params(self) -> dict:
        return self.data["params"]

    @property
    def consented(self) -> bool:
        return self.state == State.CONSENTED
