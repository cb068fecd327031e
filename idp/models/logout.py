"""Back-channel logout notifications waiting to reach relying services (with retries)."""
from __future__ import annotations

from ..extensions import db
from ..services import clock


class LogoutNotification(db.Model):
    __tablename__ = "logout_notifications"

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.Integer, db.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False)
    sid = db.Column(db.String(64), nullable=False)
    sub = db.Column(db.String(36), nullable=False)
    status = db.Column(db.String(16), nullable=False, default="pending", index=True)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    next_attempt_at = db.Column(db.DateTime, nullable=False, default=clock.now)
    last_error = db.Column(db.String(500))
    created_at = db.Column(db.DateTime, nullable=False, default=clock.now)
    sent_at = db.Column(db.DateTime)
