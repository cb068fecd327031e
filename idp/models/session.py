"""LoginSession: one browser's signed-in state, listed and ended by the user.

The browser's cookie carries only `sid` (signed by Flask); everything else is here so
several app processes share it through the database.
"""
from __future__ import annotations

import secrets

from ..extensions import db
from ..services import clock


class LoginSession(db.Model):
    __tablename__ = "login_sessions"
    # `tunnus logouts send` looks every few seconds for kiosk sessions left idle
    # (services/kiosk_sessions.end_idle): these few rows, not the whole table.
    __table_args__ = (db.Index("ix_login_sessions_kiosk_live", "expires_at",
                               postgresql_where=db.text("kiosk_client_id IS NOT NULL AND ended_at IS NULL"),
                               sqlite_where=db.text("kiosk_client_id IS NOT NULL AND ended_at IS NULL")),)

    id = db.Column(db.Integer, primary_key=True)
    sid = db.Column(db.String(64), nullable=False, unique=True, default=lambda: secrets.token_urlsafe(32))
    identity_id = db.Column(db.Integer, db.ForeignKey("identities.id", ondelete="CASCADE"), nullable=False, index=True)
    auth_time = db.Column(db.DateTime, nullable=False)
    amr = db.Column(db.JSON, nullable=False, default=list)
    acr = db.Column(db.String(64))
    remember = db.Column(db.Boolean, nullable=False, default=False)
    # The organisation this person acts for in this browser (account page switch).
    organisation_id = db.Column(db.Integer, db.ForeignKey("organisations.id", ondelete="SET NULL"))
    # "Myself" chosen instead: organisation_id None alone means the person never chose.
    acting_personally = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())

    def acting_for(self):
        """The active organisation's id, org_choice.PERSONAL, or None when never chosen."""
        from ..oidc.org_choice import PERSONAL

        return self.organisation_id if self.organisation_id is not None else PERSONAL if self.acting_personally else None
    # A PIN login on a building's kiosk: this session serves that kiosk client only
    # (services/kiosk_sessions.py); None for every ordinary session.
    kiosk_client_id = db.Column(db.Integer, db.ForeignKey("clients.id", ondelete="CASCADE"))
    ip = db.Column(db.String(64))
    user_agent = db.Column(db.String(400))
    created_at = db.Column(db.DateTime, nullable=False, default=clock.now)
    last_seen_at = db.Column(db.DateTime, nullable=False, default=clock.now)
    expires_at = db.Column(db.DateTime, nullable=False)
    ended_at = db.Column(db.DateTime)

    identity = db.relationship("Identity", lazy="joined")

    def is_active(self) -> bool:
        return self.ended_at is None and self.expires_at > clock.now()

    @classmethod
    def active_by_sid(cls, sid: str | None) -> "LoginSession | None":
        if not sid:
            return None
        found = db.session.execute(db.select(cls).filter_by(sid=sid)).scalar_one_or_none()
        return found if found is not None and found.is_active() else None
