"""Upstream OpenID providers for strong identification, and who was identified by them."""
from __future__ import annotations

from ..extensions import db
from ..services import clock


class UpstreamProvider(db.Model):
    __tablename__ = "upstream_providers"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), nullable=False, unique=True)
    issuer = db.Column(db.String(500), nullable=False)
    client_id = db.Column(db.String(200), nullable=False)
    client_secret_encrypted = db.Column(db.Text, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=clock.now)


class UpstreamLink(db.Model):
    __tablename__ = "upstream_links"
    __table_args__ = (db.UniqueConstraint("upstream_id", "subject", name="uq_upstream_links_upstream_subject"),)

    id = db.Column(db.Integer, primary_key=True)
    upstream_id = db.Column(db.Integer, db.ForeignKey("upstream_providers.id", ondelete="CASCADE"), nullable=False)
    subject = db.Column(db.String(255), nullable=False)
    identity_id = db.Column(db.Integer, db.ForeignKey("identities.id", ondelete="CASCADE"), nullable=False,
                            index=True)
    verified_name = db.Column(db.String(200))
    linked_at = db.Column(db.DateTime, nullable=False, default=clock.now)
    # The last time this provider identified the person (the account page names the latest).
    identified_at = db.Column(db.DateTime)
