"""A PIN login on a building's kiosk: the resident taps their name, then types their PIN.

States: choose -> pin -> done; "back" returns pin -> choose. Only members of the
kiosk's organisation who have a display name there and have set a PIN are listed, by
that display name ("A 12"): a shared screen shows no names or addresses. The diagram
is docs/flows/kiosk.md.
"""
from __future__ import annotations

from enum import Enum

from ..errors import KioskOnly, NotFound
from ..extensions import db
from ..methods import pin
from ..models import Client, KioskPin, LoginSession, Membership, Organisation
from ..models import Flow as StoredFlow
from ..models.organisation import ACTIVE
from ..services import audit, clock, collation, kiosk_sessions
from ..services.audit import Origin
from .base import Flow, IllegalMove


# Renewed this long before expiry, so the request made anew reaches the server in time
# even when the screen's timer fires late.
RENEW_MARGIN = 60


class State(str, Enum):
    CHOOSE = "choose"
    PIN = "pin"
    DONE = "done"


def residents(organisation_id: int) -> list[Membership]:
    """Who may sign in at this organisation's kiosks, in the order of their names."""
    found = db.session.execute(_listed(organisation_id)).scalars()
    return sorted(found, key=lambda member: collation.natural_key(member.display_name))


def _listed(organisation_id: int):
    return (db.select(Membership)
            .join(KioskPin, KioskPin.identity_id == Membership.identity_id)
            .join(Organisation, Organisation.id == Membership.organisation_id)
            .where(Membership.organisation_id == organisation_id, Organisation.status == ACTIVE,
                   Membership.display_name.is_not(None), Membership.display_name != ""))


def _check_place(client: Client, origin: Origin) -> None:
    # Elsewhere the resident list would name the building's residents to anyone, and their
    # PINs could be tried (and locked) from afar.
    if not client.kiosk_reachable_from(origin.ip):
        audit.record("kiosk.refused", "failure", origin=origin, client_id=client.client_id)
        db.session.commit()
        raise KioskOnly()


class KioskFlow(Flow):
    KIND = "kiosk"
    State = State
    INITIAL = State.CHOOSE
    MOVES = {
        (State.CHOOSE, "choose"): State.PIN,
        (State.PIN, "back"): State.CHOOSE,
        (State.PIN, "authenticated"): State.DONE,
    }

    @classmethod
    def begin(cls, client: Client, browser: str, return_to: str, again: str, origin: Origin) -> "KioskFlow":
        """The list of residents for `client`'s authorization request, which `again` makes
        anew when this flow is about to expire (see renew_in)."""
        _check_place(client, origin)
        return cls.start(browser, client_id=client.client_id, return_to=return_to, again=again)

    @classmethod
    def again_of(cls, flow_id: str | None, browser: str) -> str | None:
        """The authorization request of this browser's kiosk flow, expired or not, to make anew."""
        stored = db.session.get(StoredFlow, flow_id) if flow_id and len(flow_id) <= 64 else None
        if stored is None or stored.kind != cls.KIND or stored.browser != browser:
            return None
        return stored.data.get("again")

    @property
    def again(self) -> str:
        return self.data["again"]

    def renew_in(self) -> int:
        """Seconds until the screen should make its request anew: a kiosk's list stays on
        screen for hours, and a tap on an expired flow would lose the resident's turn."""
        left = (self.stored.expires_at - clock.now()).total_seconds()
        return max(int(left) - RENEW_MARGIN, 5)

    def at(self, origin: Origin) -> "KioskFlow":
        """This flow, if the request comes from one of the kiosk's networks (KioskOnly if not)
        and its kiosk is still registered (NotFound if an operator has deleted it)."""
        client = self.client
        if client is None:
            raise NotFound()
        _check_place(client, origin)
        return self

    @property
    def client(self) -> Client:
        return Client.by_client_id(self.data["client_id"])

    def residents(self) -> list[Membership]:
        organisation_id = self.client.kiosk_organisation_id
        return residents(organisation_id) if organisation_id is not None else []

    @property
    def resident(self) -> Membership | None:
        membership_id = self.data.get("membership_id")
        return db.session.get(Membership, membership_id) if membership_id is not None else None

    @property
    def listed_resident(self) -> Membership | None:
        """The resident chosen, if still on this kiosk's list: not taken off it, out of the
        organisation or suspended since chosen (nor, on SQLite, a membership of another
        organisation that took the id of one deleted)."""
        resident, organisation_id = self.resident, self.client.kiosk_organisation_id
        if resident is None or organisation_id is None or db.session.execute(
                _listed(organisation_id).where(Membership.id == resident.id)).first() is None:
            return None
        return resident

    def choose(self, membership_id: str) -> None:
        chosen = next((m for m in self.residents() if str(m.id) == membership_id), None)
        if chosen is None:
            raise NotFound()
        self.transition("choose")
        self.update(membership_id=chosen.id)
        db.session.commit()

    def back(self) -> None:
        self.transition("back")
        self.update(membership_id=None)
        db.session.commit()

    def submit_pin(self, typed: str, origin: Origin, replacing: LoginSession | None = None) -> LoginSession:
        """The kiosk session (ending `replacing`, the browser's earlier one), or
        PinRejected (the resident stays chosen to try again)."""
        resident, client = self.listed_resident, self.client
        if self.state is not State.PIN or resident is None:
            raise NotFound()
        pin.verify(resident.identity, typed, origin=origin, client_id=client.client_id)
        # One tap of a double tap takes the flow on; the other finds it taken (IllegalMove).
        # Before, both started a session, one of them held by no browser.
        if not db.session.execute(db.update(StoredFlow).where(StoredFlow.id == self.id,
                                                              StoredFlow.state == State.PIN.value)
                                  .values(state=State.DONE.value)
                                  .execution_options(synchronize_session=False)).rowcount:
            db.session.rollback()
            raise IllegalMove()
        self.transition("authenticated")
        return kiosk_sessions.start(resident.identity, client, origin=origin, replacing=replacing)
