"""Accounts imported from the old per-service systems, kept for login and history."""
from __future__ import annotations

from ..extensions import db
from ..services import clock


class LegacyAccount(db.Model):
    __tablename__ = "legacy_accounts"
    __table_args__ = (
        db.UniqueConstraint("system", "legacy_id", name="uq_legacy_accounts_system_legacy_id"),
        db.UniqueConstraint("system", "login_name_normalized", name="uq_legacy_accounts_system_login"),
    )

    id = db.Column(db.Integer, primary_key=True)
    system = db.Column(db.String(64), nullable=False)
    legacy_id = db.Column(db.String(128), nullable=False)
    login_name = db.Column(db.String(200), nullable=False)
    login_name_normalized = db.Column(db.String(200), nullable=False, index=True)
    email = db.Column(db.String(320))
    name = db.Column(db.String(200))
    phone = db.Column(db.String(32))
    password_hash = db.Column(db.String(512))
    hash_scheme = db.Column(db.String(32))
    legacy_created_at = db.Column(db.DateTime)
    legacy_last_login_at = db.Column(db.DateTime)
    org_business_id = db.Column(db.String(16))
    org_role = db.Column(db.String(16))
    # When the organisation link (org_business_id for identity_id) became a membership;
    # None until then, and again when the row names another organisation or person. Once
    # applied, a membership an admin removes stays removed, whatever later imports say.
    org_linked_at = db.Column(db.DateTime)
    # None until merged: accounts without a usable email wait for their owner to add one.
    identity_id = db.Column(db.Integer, db.ForeignKey("identities.id", ondelete="SET NULL"), index=True)
    # Digest of the imported row: a re-import of the same data changes nothing.
    row_digest = db.Column(db.String(64), nullable=False)
    imported_at = db.Column(db.DateTime, nullable=False, default=clock.now)
    # Set when the person moved to a Tunnus password: the old hash no longer opens.
    password_retired_at = db.Column(db.DateTime)
    # Wrong passwords in a row while not merged, and the wait they earned (as an identity's).
    failed_logins = db.Column(db.Integer, nullable=False, default=0, server_default="0")
    locked_until = db.Column(db.DateTime)

    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > clock.now()
