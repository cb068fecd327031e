"""Second factors and other ways in that a person sets up: TOTP, recovery codes,
passkeys, and a kiosk PIN. Secrets are encrypted (TOTP) or hashed (codes, PIN)."""
from __future__ import annotations

from ..extensions import db
from ..services import clock


class TotpCredential(db.Model):
    __tablename__ = "totp_credentials"

    id = db.Column(db.Integer, primary_key=True)
    identity_id = db.Column(db.Integer, db.ForeignKey("identities.id", ondelete="CASCADE"), nullable=False,
                            unique=True)
    secret_encrypted = db.Column(db.Text, nullable=False)
    confirmed_at = db.Column(db.DateTime)  # None while enrolment waits for its first code
    # The last accepted time step: a code is never accepted twice in its window.
    last_used_step = db.Column(db.BigInteger)
    failed_attempts = db.Column(db.Integer, nullable=False, default=0)
    locked_until = db.Column(db.DateTime)
    created_at = db.Column(db.DateTime, nullable=False, default=clock.now)


class RecoveryCode(db.Model):
    __tablename__ = "recovery_codes"

    id = db.Column(db.Integer, primary_key=True)
    identity_id = db.Column(db.Integer, db.ForeignKey("identities.id", ondelete="CASCADE"), nullable=False,
                            index=True)
    code_hash = db.Column(db.String(128), nullable=False)
    used_at = db.Column(db.DateTime)
    created_at = db.Column(db.DateTime, nullable=False, default=clock.now)


class Passkey(db.Model):
    __tablename__ = "passkeys"

    id = db.Column(db.Integer, primary_key=True)
    identity_id = db.Column(db.Integer, db.ForeignKey("identities.id", ondelete="CASCADE"), nullable=False,
                            index=True)
    credential_id = db.Column(db.String(1400), nullable=False, unique=True)  # base64url
    public_key = db.Column(db.Text, nullable=False)  # base64url COSE key
    sign_count = db.Column(db.BigInteger, nullable=False, default=0)
    name = db.Column(db.String(100), nullable=False)
    transports = db.Column(db.JSON, nullable=False, default=list)
    created_at = db.Column(db.DateTime, nullable=False, default=clock.now)
    last_used_at = db.Column(db.DateTime)


class KioskPin(db.Model):
    __tablename__ = "kiosk_pins"

    id = db.Column(db.Integer, primary_key=True)
    identity_id = db.Column(db.Integer, db.ForeignKey("identities.id", ondelete="CASCADE"), nullable=False,
                            unique=True)
    pin_hash = db.Column(db.String(512), nullable=False)
    set_at = db.Column(db.DateTime, nullable=False, default=clock.now)
    failed_attempts = db.Column(db.Integer, nullable=False, default=0)
    # Too many wrong PINs: PIN login stays off until the person sets a new PIN.
    locked_at = db.Column(db.DateTime)
