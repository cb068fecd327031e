"""Password change campaigns and the people each one asks to act."""
from __future__ import annotations

from ..extensions import db
from ..services import clock

DRAFT, RUNNING, CANCELLED = "draft", "running", "cancelled"


class Campaign(db.Model):
    __tablename__ = "campaigns"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False)
    # legacy-system:NAME, org:ID, unverified-email, all, or emails (the list is in members)
    target = db.Column(db.String(300), nullable=False)
    requirements = db.Column(db.JSON, nullable=False, default=list)  # verify_email, change_password
    starts_at = db.Column(db.DateTime)
    deadline_at = db.Column(db.DateTime)
    cutover_at = db.Column(db.DateTime)
    reminder_days = db.Column(db.JSON, nullable=False, default=list)
    rate_per_minute = db.Column(db.Integer)
    status = db.Column(db.String(16), nullable=False, default=DRAFT)
    created_at = db.Column(db.DateTime, nullable=False, default=clock.now)
    started_at = db.Column(db.DateTime)
    cancelled_at = db.Column(db.DateTime)


class CampaignMember(db.Model):
    __tablename__ = "campaign_members"
    __table_args__ = (db.UniqueConstraint("campaign_id", "identity_id", name="uq_campaign_members_campaign_identity"),)

    id = db.Column(db.Integer, primary_key=True)
    campaign_id = db.Column(db.Integer, db.ForeignKey("campaigns.id", ondelete="CASCADE"), nullable=False, index=True)
    identity_id = db.Column(db.Integer, db.ForeignKey("identities.id", ondelete="CASCADE"), nullable=False,
                            index=True)
    email_verified_at = db.Column(db.DateTime)
    password_changed_at = db.Column(db.DateTime)
    completed_at = db.Column(db.DateTime, index=True)
    last_mailed_at = db.Column(db.DateTime)
    # Without IDP_SMTP_URL a mail is only written to the log: it reached nobody, so it is
    # recorded apart from last_mailed_at (a mail server took it).
    logged_at = db.Column(db.DateTime)
    link_opened_at = db.Column(db.DateTime)
    reminders_sent = db.Column(db.Integer, nullable=False, default=0)
    snoozed_at = db.Column(db.DateTime)
    bounced_at = db.Column(db.DateTime)
    bounce_reason = db.Column(db.String(500))
