"""OutboxMail: a message written in the same transaction as the change that causes it.

A sender delivers it afterwards (at once after the request, then `tunnus mail send`),
so a change is never stored without its mail, nor a mail sent for a change rolled back.
A sender claims a mail (SENDING, next_attempt_at at the end of its lease) before the SMTP
conversation, so two senders never send it at once.

A mail that reached its end (sent, logged, failed) keeps no body: the text and HTML carry
codes and links that work, and the kind, recipient, subject and times are all the data
download and operators use. Until then the body is sealed (secrets_box), except campaign
mail's, written in SQL, which holds no link (the sender makes it).
"""
from ..extensions import db
from ..services import clock
from ..services.leases import FAILED, PENDING, SENDING

SENT, LOGGED = "sent", "logged"
NO_BODY = {"text": "", "html": ""}  # the values of a final mail's body, for bulk updates
__all__ = ["OutboxMail", "PENDING", "SENDING", "SENT", "LOGGED", "FAILED", "NO_BODY"]


class OutboxMail(db.Model):
    __tablename__ = "mail_outbox"

    id = db.Column(db.Integer, primary_key=True)
    kind = db.Column(db.String(64), nullable=False)
    recipient = db.Column(db.String(320), nullable=False)
    identity_id = db.Column(db.Integer, db.ForeignKey("identities.id", ondelete="SET NULL"), index=True)
    subject = db.Column(db.String(300), nullable=False)
    text = db.Column(db.Text, nullable=False)
    html = db.Column(db.Text, nullable=False)
    # text and html encrypted (secrets_box.MAIL_BODY); not so campaign mail and mail written
    # before migration 0027, which are sent as they are.
    sealed = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    # Campaign mail is throttled per campaign and its bounces are counted per campaign.
    campaign_id = db.Column(db.Integer, db.ForeignKey("campaigns.id", ondelete="SET NULL"), index=True)
    status = db.Column(db.String(16), nullable=False, default=PENDING, index=True)
    attempts = db.Column(db.Integer, nullable=False, default=0)
    next_attempt_at = db.Column(db.DateTime, nullable=False, default=clock.now)
    last_error = db.Column(db.String(500))
    created_at = db.Column(db.DateTime, nullable=False, default=clock.now)
    sent_at = db.Column(db.DateTime)

    def close(self, status: str) -> None:
        """Put the mail in a final state (SENT, LOGGED, FAILED), dropping its body."""
        self.status, self.text, self.html = status, "", ""
