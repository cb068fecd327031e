"""AuditEvent: who did what, when, from where, with what result."""
from ..extensions import db
from ..services import clock


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id = db.Column(db.Integer, primary_key=True)
    at = db.Column(db.DateTime, nullable=False, default=clock.now, index=True)
    event = db.Column(db.String(64), nullable=False, index=True)
    result = db.Column(db.String(16), nullable=False)
    identity_id = db.Column(db.Integer, db.ForeignKey("identities.id", ondelete="SET NULL"), index=True)
    client_id = db.Column(db.String(64))
    # Lets an organisation's admins see the activity that concerns it.
    organisation_id = db.Column(db.Integer, db.ForeignKey("organisations.id", ondelete="SET NULL"), index=True)
    ip = db.Column(db.String(64))
    user_agent = db.Column(db.String(400))
    # The X-Request-ID of the request that caused it, as in the log lines of that request.
    request_id = db.Column(db.String(128))
    details = db.Column(db.JSON, nullable=False, default=dict)
