"""LoginSession: one browser's signed-in state, listed and ended by the user.

The browser's cookie (signed by Flask) carries the session's key, a secret of its own
of which only the SHA-256 is kept here; everything else is here so several app processes
share it through the database. The `sid` names the session to relying services (ID and
logout tokens), to its tokens and in the audit trail, and so proves nothing by itself.
"""
from __future__ import annotations

import hashlib
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
    # None only for sessions from before 0028_session_keys, until their browser comes back.
    key_hash = db.Column(db.String(64), unique=True, index=True)
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

    def rekey(self) -> None:
        """A fresh key for the browser's cookie, replacing any before it (at each sign-in and
        step-up, so a cookie copied before then no longer serves). Kept in `browser_key`
        for web/browser.hold to put in the cookie; only its digest is stored."""
        self.browser_key = secrets.token_urlsafe(32)
        self.key_hash = _digest(self.browser_key)

    def takes_first_key(self, key: str) -> bool:
        """For a session from before 0028_session_keys: `key` becomes its key unless it has
        another already. The key is derived from the sid (web/browser.py), so requests of its
        browser racing here all derive the same one, and whichever response sets the cookie
        last leaves a key that matches. The caller commits."""
        digest = _digest(key)
        db.session.execute(db.update(LoginSession).where(LoginSession.id == self.id, LoginSession.key_hash.is_(None))
                           .values(key_hash=digest))
        return db.session.scalar(db.select(LoginSession.key_hash).where(LoginSession.id == self.id)) == digest

    @classmethod
    def active_by_key(cls, key: str | None) -> "LoginSession | None":
        if not key:
            return None
        found = db.session.execute(db.select(cls).filter_by(key_hash=_digest(key))).scalar_one_or_none()
        return found if found is not None and found.is_active() else None

    @classmethod
    def active_by_sid(cls, sid: str | None) -> "LoginSession | None":
        if not sid:
            return None
        found = db.session.execute(db.select(cls).filter_by(sid=sid)).scalar_one_or_none()
        return found if found is not None and found.is_active() else None


def _digest(key: str) -> str:
    # A random 256-bit key needs no slow hash: SHA-256 is enough, and looked up by equality.
    return hashlib.sha256(key.encode()).hexdigest()
