"""The journeys under way about a person (flows/: an email change waiting for its code or
link, a reset waiting for its code, a login at its second factor or a campaign's step, a
registration's code for the owner...) end when what they were started with no longer holds.

A change of password, by any path, ends them: each was started by someone who knew the old
password or read the mailbox meanwhile, and the owner changing it means to shut that person
out (OWASP: invalidate pending changes on a credential change). So does logging out every
device (and support's removal of the second factors, which logs out everywhere): otherwise
a login parked at a later step would become a session after it. Only the journey making the
change goes on (the reset or the campaign step, and the login it belongs to). Invitations
are an organisation's, not the person's journeys, and stay.
"""
from __future__ import annotations

from collections.abc import Iterable

from ..errors import JourneyEnded
from ..extensions import db
from ..models import Flow as StoredFlow, Identity
from . import audit, clock
from .audit import Origin

# Why a journey ended, as stored in it and shown to whoever comes back to it.
PASSWORD_CHANGED = "password_changed"
SIGNED_OUT = "signed_out"


def end_about(identity_id: int, *, because: str | None, keep: Iterable[str | None] = ()) -> None:
    """Every journey about this person expires now, all but those in `keep`; those not yet
    done are marked `because` (None: plain expiry, as when the account was deleted or moved
    to another address, where what they would act on is gone). The caller commits."""
    kept = [flow_id for flow_id in keep if flow_id]
    found = db.session.execute(db.select(StoredFlow).where(
        StoredFlow.expires_at > clock.now(), StoredFlow.id.not_in(kept),
        db.or_(StoredFlow.data["identity_id"].as_integer() == identity_id,
               StoredFlow.data["owner_id"].as_integer() == identity_id))).scalars()
    for stored in found:
        # A finished one acts on nothing any more: it must not say it was cancelled.
        stored.end(because if stored.state != "done" else None)


def refused(ended: JourneyEnded, *, origin: Origin) -> None:
    """Someone came back to a journey that was ended (end_about): audited as `<kind>.refused`."""
    identity = db.session.get(Identity, ended.identity_id) if ended.identity_id is not None else None
    audit.record(f"{ended.kind}.refused", "failure", origin=origin, identity=identity, reason=ended.because)
    db.session.commit()
