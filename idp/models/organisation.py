"""Organisations, who belongs to them, and which services each member may use."""
from __future__ import annotations

from ..extensions import db
from ..services import clock

ADMIN, MEMBER = "admin", "member"
ACTIVE, SUSPENDED = "active", "suspended"


class Organisation(db.Model):
    __tablename__ = "organisations"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), nullable=False)
    # Finnish Y-tunnus (1234567-1); unique when given.
    business_id = db.Column(db.String(16), unique=True)
    status = db.Column(db.String(16), nullable=False, default=ACTIVE)
    created_at = db.Column(db.DateTime, nullable=False, default=clock.now)


class Membership(db.Model):
    __tablename__ = "memberships"
    __table_args__ = (db.UniqueConstraint("identity_id", "organisation_id", name="uq_memberships_identity_org"),)

    id = db.Column(db.Integer, primary_key=True)
    identity_id = db.Column(db.Integer, db.ForeignKey("identities.id", ondelete="CASCADE"), nullable=False, index=True)
    organisation_id = db.Column(db.Integer, db.ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False,
                                index=True)
    role = db.Column(db.String(16), nullable=False, default=MEMBER)
    # How the organisation names this member, e.g. apartment "A 12" on a stairwell kiosk.
    display_name = db.Column(db.String(100))
    created_at = db.Column(db.DateTime, nullable=False, default=clock.now)

    identity = db.relationship("Identity", lazy="joined")
    organisation = db.relationship("Organisation", lazy="joined")


class ServiceRight(db.Model):
    __tablename__ = "service_rights"
    __table_args__ = (db.UniqueConstraint("membership_id", "client_id", name="uq_service_rights_membership_client"),)

    id = db.Column(db.Integer, primary_key=True)
    membership_id = db.Column(db.Integer, db.ForeignKey("memberships.id", ondelete="CASCADE"), nullable=False,
                              index=True)
    client_id = db.Column(db.Integer, db.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False, index=True)
    granted_by_id = db.Column(db.Integer, db.ForeignKey("identities.id", ondelete="SET NULL"))
    granted_at = db.Column(db.DateTime, nullable=False, default=clock.now)


class Invitation(db.Model):
    """A membership waiting for an email address that has no identity yet."""

    __tablename__ = "invitations"
    __table_args__ = (db.UniqueConstraint("organisation_id", "email_normalized", name="uq_invitations_org_email"),)

    id = db.Column(db.Integer, primary_key=True)
    organisation_id = db.Column(db.Integer, db.ForeignKey("organisations.id", ondelete="CASCADE"), nullable=False)
    email = db.Column(db.String(320), nullable=False)
    email_normalized = db.Column(db.String(320), nullable=False, index=True)
    role = db.Column(db.String(16), nullable=False, default=MEMBER)
    # client_ids (internal ids) to grant when the invitation is accepted
    client_ids = db.Column(db.JSON, nullable=False, default=list)
    # Membership.display_name once accepted.
    display_name = db.Column(db.String(100))
    invited_by_id = db.Column(db.Integer, db.ForeignKey("identities.id", ondelete="SET NULL"))
    created_at = db.Column(db.DateTime, nullable=False, default=clock.now)
    # Only on invitations accepted before acceptance deleted them (`tunnus prune` deletes those).
    accepted_at = db.Column(db.DateTime)
