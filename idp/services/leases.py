"""Leases: an outbox row (a mail, a back-channel logout) is sent by one process at a time.

Several processes send from the same outbox: the request that wrote a row tries it at once,
and the sender loops (`tunnus mail send --loop`, `tunnus logouts send --loop`) take what is
due. A sender claims a row before the network call (SENDING, its next attempt moved to the
end of a lease longer than the call can take) and commits; whoever looks meanwhile finds
it not due. The outcome is recorded after the call. No row stays locked, and no database
connection is held, while the network answers.

A sender that dies between the call and recording it leaves the row SENDING: once the lease
ends the row is due again and is sent again. That is at least once, and only for the row
the sender had in hand. A row whose sender died at every one of its attempts is not taken
again but given up (abandoned), as one that failed each time. A sender stopped (Ctrl-C,
SIGTERM) during the call gives the row back instead (in_hand), so nobody waits for the
lease to end.
"""
from __future__ import annotations

import contextlib
import datetime as dt

from ..extensions import db
from . import clock, stopping

PENDING, SENDING, FAILED = "pending", "sending", "failed"


def due(model, now: dt.datetime):
    """Rows whose time has come: waiting ones, and claimed ones whose sender died (the lease ended)."""
    return db.and_(model.status.in_((PENDING, SENDING)), model.next_attempt_at <= now)


def claim(model, row_id: int, seconds: float, max_attempts: int) -> bool:
    """Take the row for `seconds` if it is still due and has attempts left; the caller
    commits before the network call.

    Conditional, as two senders may both have read the row as due (SQLite has no row locks).
    A sender told to stop takes no more."""
    stopping.check()
    now = clock.now()
    return bool(db.session.execute(
        db.update(model).where(model.id == row_id, due(model, now), model.attempts < max_attempts)
        .values(status=SENDING, attempts=model.attempts + 1, next_attempt_at=now + dt.timedelta(seconds=seconds))
    ).rowcount)


def abandoned(model, max_attempts: int, **final) -> list[int]:
    """Give up the rows whose sender died during each of their attempts (SENDING, the lease
    over, no attempt left), with `final` values; their ids. Before, such a row (one whose
    sending ended the sender every time) was taken again at every lease, for ever. The caller
    commits."""
    now = clock.now()
    stuck = db.and_(model.status == SENDING, model.next_attempt_at <= now, model.attempts >= max_attempts)
    given_up = []
    for row_id in db.session.execute(db.select(model.id).where(stuck).order_by(model.id)).scalars().all():
        # One by one and conditional: another sender may be giving up the same rows.
        if db.session.execute(db.update(model).where(model.id == row_id, stuck).values(
                status=FAILED, last_error=f"the sender stopped during each of its {max_attempts} attempts",
                **final)).rowcount:
            given_up.append(row_id)
    return given_up


@contextlib.contextmanager
def in_hand(model, row_id: int):
    """The network call for a claimed row. Stopped during it, the sender gives the row back:
    due at once, the attempt not counted. The lease outlasts the call, so the row is still
    this sender's to give."""
    try:
        yield
    except stopping.Stopped:
        db.session.execute(db.update(model).where(model.id == row_id, model.status == SENDING)
                           .values(status=PENDING, attempts=model.attempts - 1, next_attempt_at=clock.now()))
        db.session.commit()
        raise


def said(text: str) -> str:
    """What went wrong, as a row keeps it (last_error) and the log and audit repeat it: the
    remote server's own words are in it, and a NUL among them, which PostgreSQL stores in
    no text, failed the recording of the outcome and left the row SENDING for good. One
    line of printable characters, at most 500."""
    return "".join(c if c.isprintable() else " " if c.isspace() else "?" for c in text).strip()[:500]


def retry_later(row, reason: str, max_attempts: int, first_delay: int) -> None:
    """A failed attempt that may succeed later: wait first_delay, twice that, ... up to an hour."""
    row.last_error = said(reason)
    if row.attempts >= max_attempts:
        row.status = FAILED
    else:
        row.status = PENDING
        row.next_attempt_at = clock.now() + dt.timedelta(seconds=min(first_delay * 2 ** (row.attempts - 1), 3600))


def waiting(model) -> int:
    """Rows not yet sent nor given up: waiting or being sent."""
    return db.session.execute(
        db.select(db.func.count(model.id)).where(model.status.in_((PENDING, SENDING)))).scalar_one()
