"""Audit events: every security-relevant action leaves a record.

`record` adds to the current transaction; the caller's commit stores it together with
the change it describes, and writes a log line with the event (idp/logging_setup.py).
`Origin` is where a request came from, given by the web layer; its request id ties the
record to the request's log lines.
"""
from __future__ import annotations

import getpass
import logging
import os
from dataclasses import dataclass

from ..extensions import db
from ..metrics import EVENTS
from ..models import AuditEvent


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Origin:
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


def _operator() -> str:
    """Who ran the command, as far as this machine knows (the caller of sudo first)."""
    try:
        return os.environ.get("SUDO_USER") or getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (some containers)
        return "unknown"


SYSTEM = Origin(ip=None, user_agent=f"tunnus-cli (user {_operator()})")


def record(event: str, result: str = "success", *, origin: Origin = SYSTEM, identity=None,
           client_id: str | None = None, organisation=None, **details) -> AuditEvent:
    entry = AuditEvent(
        event=event,
        result=result,
        identity_id=getattr(identity, "id", identity),
        client_id=client_id,
        organisation_id=getattr(organisation, "id", organisation),
        ip=origin.ip,
        user_agent=(origin.user_agent or "")[:400] or None,
        request_id=origin.request_id,
        details=details,
    )
    db.session.add(entry)
    EVENTS.labels(event, result).inc()
    # Details stay in the database: they may name people; the line says what happened to whom.
    log.info("%s %s", event, result, extra={"event": event, "result": result, "identity_id": entry.identity_id,
                                            "client_id": client_id})
    return entry


def history(identity, *, since, until=None, event: str | None = None, limit: int = 100,
            including: AuditEvent | None = None) -> list[AuditEvent]:
    """The person's events in [since, until), oldest first; the latest `limit` of them.
    `event` is a name, or a prefix ending in '*' (`session.*`). `including`: an event no
    longer linked to them (the deletion of their earlier account), taken as theirs."""
    theirs = AuditEvent.identity_id == identity.id
    if including is not None:
        theirs = db.or_(theirs, AuditEvent.id == including.id)
    query = db.select(AuditEvent).where(theirs, AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    if event and event.endswith("*"):
        query = query.where(AuditEvent.event.startswith(event[:-1], autoescape=True))
    elif event:
        query = query.where(AuditEvent.event == event)
    latest = db.session.execute(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit)).scalars()
    return list(reversed(latest.all()))


def deletion_of(email_normalized: str) -> AuditEvent | None:
    """The record of the latest deletion of an account with this address, if any: its
    events have lost their link to the person, so `history` cannot find them."""
    deletions = db.session.execute(db.select(AuditEvent).where(AuditEvent.event == "identity.deleted")
                                   .order_by(AuditEvent.id.desc())).scalars()
    return next((entry for entry in deletions if (entry.details or {}).get("email") == email_normalized), None)
