"""PushedRequest: an authorization request a client pushed to /par (RFC 9126), waiting
for the browser to bring its request_uri to /authorize.

Only a SHA-256 hash of the reference's random part is stored, as for codes: a copy of
the table names no request_uri that /authorize would take.
"""
from __future__ import annotations

from ..extensions import db


class PushedRequest(db.Model):
    __tablename__ = "pushed_requests"

    id = db.Column(db.Integer, primary_key=True)
    reference_hash = db.Column(db.String(64), nullable=False, unique=True)
    client_id = db.Column(db.Integer, db.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False)
    # The authorization request's parameters as pushed, client authentication left out.
    params = db.Column(db.JSON, nullable=False)
    expires_at = db.Column(db.DateTime, nullable=False, index=True)
