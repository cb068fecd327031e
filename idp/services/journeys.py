"""The journeys under way about a person (flows/: an email change waiting for its code or
link, a reset waiting for its code, a login at its second factor or a campaign's step, a
registration's code for the owner...) end when what they were started with no longer holds.

A change of password, by any path, ends them: each was started by someone who knew the old
password or read the mailbox meanwhile, and the owner changing it means to shut that person
out (OWASP: invalidate pending changes on a credential change). So does logging out every
device (and support's removal of the second factors, which logs out everywhere): otherwise
a login parked at a later step would become a session after it. So does a change of the
sign-in email: what was mailed to the old address opens nothing now. Only the journey making the
change goes on (the reset or the campaign step, and the login it belongs to). Invitations
are an organisation's, not the person's journeys, and stay.

Logins and email changes also note which password they saw proven (password_version), and
refuse to finish once the account has another: should one outlive a change some other way
(a path that forgot to end them, a change committed as it finished), it still ends here.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable

from ..errors import JourneyEnded
from ..extensions import db
from ..models import Flow as StoredFlow, Identity
from . import audit, clock
from .audit import Origin

# Why a journey ended, as stored in it and shown to whoever comes back to it.
PASSWORD_CHANGED = "password_changed"
SIGNED_OUT = "signed_out"
EMAIL_CHANGED = "email_changed"


def end_about(identity_id: int, *, because: str | None, keep: Iterable[str | None] = ()) -> None:
    """Every journey about this person expires now, all but those in `keep`; those not yet
    done are marked `because` (None: plain expiry, as when the account was deleted, where
    what they would act on is gone). The caller commits."""
    kept = [flow_id for flow_id in keep if flow_id]
    for stored in _live_about(identity_id, StoredFlow.id.not_in(kept)):
        # A finished one acts on nothing any more: it must not say it was cancelled.
        stored.end(because if stored.state != "done" else None)


def _live_about(identity_id: int, *where):
    return db.session.execute(db.select(StoredFlow).where(
        StoredFlow.person_id == identity_id, StoredFlow.expires_at > clock.now(), *where)).scalars()


def password_version(identity: Identity) -> str:
    """Which password the account has, for a journey to note when it sees it proven and to
    tell later whether the account still has it (Flow._password_changed). Every new password
    is hashed with a salt of its own, so this changes with every change, whatever path made
    it; the same password hashed anew carries the journeys that saw it over (rehashed)."""
    return hashlib.sha256((identity.password_hash or "").encode()).hexdigest()[:16]


def note_password(identity: Identity, flow_ids: Iterable[str | None]) -> None:
    """The journeys that made a change of password go on, and the password they have proven
    is the new one (a reset's login, a login whose campaign step asked for it). The caller
    commits."""
    version = password_version(identity)
    for stored in db.session.execute(db.select(StoredFlow).where(StoredFlow.id.in_([f for f in flow_ids if f]))
                                     ).scalars():
        if "password_version" in stored.data:
            stored.data = {**stored.data, "password_version": version}


def rehashed(identity: Identity, before: str) -> None:
    """The same password hashed anew at a sign-in, as argon2's parameters were raised: the
    journeys that saw it proven as `before` still have it proven, so a login of the same
    person parked at its second factor finishes. The caller commits."""
    after = password_version(identity)
    if after == before:
        return
    for stored in _live_about(identity.id):
        if stored.data.get("password_version") == before:
            stored.data = {**stored.data, "password_version": after}


def refused(ended: JourneyEnded, *, origin: Origin) -> None:
    """Someone came back to a journey that was ended (end_about, or a login that finds the
    password changed since it was proven): audited as `<kind>.refused`."""
    identity = db.session.get(Identity, ended.identity_id) if ended.identity_id is not None else None
    audit.record(f"{ended.kind}.refused", "failure", origin=origin, identity=identity, reason=ended.because)
    db.session.commit()
