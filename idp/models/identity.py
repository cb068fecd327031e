"""Identity: one person, one normalised email, an immutable `sub`."""
from __future__ import annotations

import unicodedata
import uuid

from sqlalchemy import event, inspect

from ..extensions import db
from ..services import clock

# What services read of a person (oidc/claims.py): a change of one is a change of the profile.
PROFILE_CLAIMS = ("name", "verified_name", "locale", "email", "email_verified")


def composed_email(email: str) -> str:
    """The address as shown and mailed to: trimmed, in composed Unicode (NFC).

    Keyboards type 'ä' as one character, some old systems and macOS file exports as 'a'
    and a combining diaeresis: both are one address.
    """
    return unicodedata.normalize("NFC", (email or "").strip())


def normalise_email(email: str) -> str:
    """The form an email is stored and compared in: trimmed, composed (NFC), lower-cased.

    The domain is also IDNA-encoded so 'ä' domains compare equal in either spelling.
    """
    email = composed_email(email)
    local, sep, domain = email.rpartition("@")
    if not sep:
        return unicodedata.normalize("NFC", email.lower())
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    # Composed again: lower-casing may leave a character its composed form has.
    return unicodedata.normalize("NFC", f"{local}@{domain}".lower())


class Identity(db.Model):
    __tablename__ = "identities"

    id = db.Column(db.Integer, primary_key=True)
    sub = db.Column(db.String(36), nullable=False, unique=True, default=lambda: str(uuid.uuid4()))
    email = db.Column(db.String(320), nullable=False)
    email_normalized = db.Column(db.String(320), nullable=False, unique=True)
    email_verified = db.Column(db.Boolean, nullable=False, default=False)
    name = db.Column(db.String(200), nullable=False, default="")
    phone = db.Column(db.String(32))
    # Set when an upstream provider (e.g. bank ID) identified the person strongly.
    strongly_identified_at = db.Column(db.DateTime)
    # Operators run imports and campaigns and see /operator pages.
    is_operator = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    verified_name = db.Column(db.String(200))
    # WebAuthn user.id of this person's passkeys: random, made at the first registration.
    passkey_user_handle = db.Column(db.String(64), unique=True)
    password_hash = db.Column(db.String(512))
    locale = db.Column(db.String(8))
    failed_logins = db.Column(db.Integer, nullable=False, default=0)
    locked_until = db.Column(db.DateTime)
    created_at = db.Column(db.DateTime, nullable=False, default=clock.now)
    # The profile's time, as the `updated_at` claim tells services (OIDC Core §5.1): set when
    # a claim's value changes (below), not by every write (a wrong password's count).
    updated_at = db.Column(db.DateTime, nullable=False, default=clock.now)

    def set_email(self, email: str) -> None:
        self.email = composed_email(email)
        self.email_normalized = normalise_email(email)

    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > clock.now()

    # Authlib reads the user id through this name.
    def get_user_id(self) -> str:
        return self.sub

    @classmethod
    def by_email(cls, email: str) -> "Identity | None":
        return db.session.execute(
            db.select(cls).filter_by(email_normalized=normalise_email(email))
        ).scalar_one_or_none()

    @classmethod
    def by_sub(cls, sub: str) -> "Identity | None":
        return db.session.execute(db.select(cls).filter_by(sub=sub)).scalar_one_or_none()

    @classmethod
    def lock(cls, identity_id: int, *, shared: bool = False) -> bool:
        """Hold the person's row until the commit; whether it still exists. Revoking their
        tokens takes it alone, issuing them shared: one UPDATE of their token rows cannot
        see a row another transaction has inserted and not yet committed, so each waits for
        the other and then sees what it committed (oidc/grants/revocation_lock.py).
        Alone is FOR NO KEY UPDATE, as an UPDATE of the row takes: rows that merely refer
        to the person (an audit record) are still written meanwhile, or ending one of their
        sessions, which such a revocation may wait for, would wait for it in turn.
        PostgreSQL only: SQLite lets one writer in at a time anyway."""
        return db.session.execute(
            db.select(cls.id).where(cls.id == identity_id).with_for_update(read=shared, key_share=not shared)
        ).first() is not None

    @classmethod
    def hold(cls, identity_id: int) -> bool:
        """Whether the identity still exists; if so, it cannot be deleted before this
        transaction ends. Taken before writing what names the person (an audit record, a
        session, a token): deleting an account locks its row first (account_deletion), so
        the two take turns, and a request that waited finds it gone instead of failing on
        a foreign key. FOR KEY SHARE (PostgreSQL) holds up nothing but the deletion.
        Nothing waiting in the session is written first: a row it locked (the login's
        flow) may be one the deletion changes too, and each would wait for the other."""
        with db.session.no_autoflush:
            return db.session.execute(
                db.select(cls.id).where(cls.id == identity_id).with_for_update(read=True, key_share=True)
            ).first() is not None


@event.listens_for(Identity, "before_update")
def _profile_changed(_mapper, _connection, identity: Identity) -> None:
    state = inspect(identity)
    if any(state.attrs[name].history.has_changes() for name in PROFILE_CLAIMS):
        identity.updated_at = clock.now()
