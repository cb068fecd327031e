"""Flow: a stored, expiring self-service journey or pending authorization request.

The rules of each kind (states, allowed moves) live in idp/flows/; this is storage.
"""
from __future__ import annotations

import secrets

from sqlalchemy.orm import validates

from ..extensions import db
from ..services import clock


class Flow(db.Model):
    __tablename__ = "flows"

    id = db.Column(db.String(64), primary_key=True, default=lambda: secrets.token_urlsafe(24))
    kind = db.Column(db.String(32), nullable=False)
    state = db.Column(db.String(32), nullable=False)
    data = db.Column(db.JSON, nullable=False, default=dict)
    # The person the journey is about (`identity_id`, or the owner of an address someone
    # tried to register, `owner_id`), kept beside the data so their journeys are found
    # without reading every live flow's JSON: on PostgreSQL one holding a NUL failed that
    # read for everyone (services/journeys.py).
    person_id = db.Column(db.Integer, index=True)
    # Binds the flow to the browser that started it (a random value in its cookie).
    browser = db.Column(db.String(64), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=clock.now)
    expires_at = db.Column(db.DateTime, nullable=False)

    @validates("data")
    def _note_person(self, _key, data: dict) -> dict:
        self.person_id = person_in(data)
        return data

    def is_expired(self) -> bool:
        return self.expires_at <= clock.now()

    def end(self, because: str | None) -> None:
        """Expire now; `because` (services/journeys.py) tells whoever comes back why."""
        self.expires_at = clock.now()
        if because:
            # Reassigned so SQLAlchemy sees the JSON column change.
            self.data = {**self.data, "ended": because}

    @property
    def ended_because(self) -> str | None:
        return self.data.get("ended")


def person_in(data: dict) -> int | None:
    """Whom a journey's data is about."""
    return data.get("identity_id") or data.get("owner_id")
