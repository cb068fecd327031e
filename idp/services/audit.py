"""Audit events: every security-relevant action leaves a record.

`record` adds to the current transaction; the caller's commit stores it together with
the change it describes. `Origin` is where a request came from, given by the web layer.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..extensions import db
from ..metrics import EVENTS
from ..models import AuditEvent


@dataclass(frozen=True)
class Origin:
    ip: str | None = None
    user_agent: str | None = None


SYSTEM = Origin(ip=None, user_agent="tunnus-cli")


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
        details=details,
    )
    db.session.add(entry)
    EVENTS.labels(event, result).inc()
    return entry
