"""What a user granted a client: consents, authorization codes, tokens.

Codes and tokens are stored only as SHA-256 hashes of the values handed out.
"""
from __future__ import annotations

import hashlib

from authlib.oauth2.rfc6749 import TokenMixin, scope_to_list
from authlib.oidc.core import AuthorizationCodeMixin

from ..extensions import db
from ..services import clock


def token_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Consent(db.Model):
    __tablename__ = "consents"
    __table_args__ = (db.UniqueConstraint("identity_id", "client_id", name="uq_consents_identity_client"),)

    id = db.Column(db.Integer, primary_key=True)
    identity_id = db.Column(db.Integer, db.ForeignKey("identities.id", ondelete="CASCADE"), nullable=False)
    client_id = db.Column(db.Integer, db.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False)
    scope = db.Column(db.String(500), nullable=False)
    # Claims allowed one by name (the `claims` request parameter) beyond those of `scope`.
    claims = db.Column(db.String(500), nullable=False, default="", server_default="")
    granted_at = db.Column(db.DateTime, nullable=False, default=clock.now)

    def covers(self, scope: str, claims=()) -> bool:
        return (set(scope_to_list(scope) or []) <= set(scope_to_list(self.scope) or [])
                and set(claims) <= set(self.claims.split()))


class AuthorizationCode(db.Model, AuthorizationCodeMixin):
    __tablename__ = "authorization_codes"

    id = db.Column(db.Integer, primary_key=True)
    code_hash = db.Column(db.String(64), nullable=False, unique=True)
    client_id = db.Column(db.Integer, db.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False)
    identity_id = db.Column(db.Integer, db.ForeignKey("identities.id", ondelete="CASCADE"), nullable=False)
    redirect_uri = db.Column(db.String(2000), nullable=False)
    scope = db.Column(db.String(500), nullable=False)
    nonce = db.Column(db.String(500))
    code_challenge = db.Column(db.String(128))
    code_challenge_method = db.Column(db.String(10))
    sid = db.Column(db.String(64))
    organisation_id = db.Column(db.Integer, db.ForeignKey("organisations.id", ondelete="CASCADE"))
    auth_time = db.Column(db.Integer, nullable=False)
    acr = db.Column(db.String(64))
    amr = db.Column(db.JSON)
    # The `claims` request parameter as granted: {"id_token": {...}, "userinfo": {...}}.
    claims_request = db.Column(db.JSON)
    # The `dpop_jkt` request parameter (RFC 9449 §10): only a DPoP proof made with this
    # key (its SHA-256 JWK thumbprint) redeems the code.
    dpop_jkt = db.Column(db.String(43))
    expires_at = db.Column(db.DateTime, nullable=False)
    used_at = db.Column(db.DateTime)

    client = db.relationship("Client", lazy="joined")
    identity = db.relationship("Identity", lazy="joined")

    @property
    def family(self) -> str:
        """The family of the tokens this code starts (Token.family): named by the code's own
        hash, unique for good. Before, by its id, which SQLite gives again once the highest
        codes are pruned: revoking one person's grant revoked another's at another client."""
        return f"code:{self.code_hash[:48]}"

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return self.acr

    def get_amr(self):
        return self.amr

    def is_expired(self) -> bool:
        return self.expires_at <= clock.now()


class Token(db.Model, TokenMixin):
    """One issued access token and, optionally, the refresh token issued with it.

    Rotations of one login's refresh tokens share `family`, so reuse of an old refresh
    token, or replay of the code that started the family, can revoke all of them.
    `scope` is the access token's; `refresh_scope` the refresh token's, the scope granted
    at the start: a refresh may narrow the access token only (RFC 6749 §6). Without a
    refresh token the two are the same.
    """

    __tablename__ = "tokens"

    id = db.Column(db.Integer, primary_key=True)
    access_token_hash = db.Column(db.String(64), nullable=False, unique=True)
    refresh_token_hash = db.Column(db.String(64), unique=True)
    family = db.Column(db.String(64), nullable=False, index=True)
    client_id = db.Column(db.Integer, db.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False)
    identity_id = db.Column(db.Integer, db.ForeignKey("identities.id", ondelete="CASCADE"), index=True)
    scope = db.Column(db.String(500), nullable=False, default="")
    refresh_scope = db.Column(db.String(500), nullable=False, default="")
    sid = db.Column(db.String(64), index=True)
    organisation_id = db.Column(db.Integer, db.ForeignKey("organisations.id", ondelete="CASCADE"))
    auth_time = db.Column(db.Integer)
    acr = db.Column(db.String(64))
    amr = db.Column(db.JSON)
    # The claims requested by name for /userinfo, kept by every refresh.
    userinfo_claims = db.Column(db.JSON)
    # The DPoP key (SHA-256 JWK thumbprint) the access token is bound to (RFC 9449 §6);
    # a public client's refresh token is bound to it too (§5): see refresh_jkt.
    dpop_jkt = db.Column(db.String(43))
    issued_at = db.Column(db.DateTime, nullable=False, default=clock.now)
    access_expires_at = db.Column(db.DateTime, nullable=False)
    refresh_expires_at = db.Column(db.DateTime)
    refresh_used_at = db.Column(db.DateTime)
    revoked_at = db.Column(db.DateTime)

    client = db.relationship("Client", lazy="joined")
    identity = db.relationship("Identity", lazy="joined")

    # Authlib's TokenMixin
    def check_client(self, client) -> bool:
        return self.client_id == client.id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return max(0, int((self.access_expires_at - self.issued_at).total_seconds()))

    def is_expired(self) -> bool:
        return self.access_expires_at <= clock.now()

    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    def get_user(self):
        return self.identity

    def get_client(self):
        return self.client

    @property
    def refresh_jkt(self) -> str | None:
        """The key a refresh with this token must prove. A confidential client's refresh
        tokens are bound by its authentication instead, so that it may change keys."""
        return self.dpop_jkt if self.client.is_public else None

    def refresh_is_usable(self) -> bool:
        return (
            self.refresh_token_hash is not None
            and self.revoked_at is None
            and self.refresh_used_at is None
            and self.refresh_expires_at is not None
            and self.refresh_expires_at > clock.now()
        )

    @classmethod
    def by_access_token(cls, value: str) -> "Token | None":
        return db.session.execute(
            db.select(cls).filter_by(access_token_hash=token_hash(value))
        ).scalar_one_or_none()

    @classmethod
    def by_refresh_token(cls, value: str) -> "Token | None":
        return db.session.execute(
            db.select(cls).filter_by(refresh_token_hash=token_hash(value))
        ).scalar_one_or_none()

    @classmethod
    def revoke_family(cls, family: str) -> int:
        result = db.session.execute(
            db.update(cls).where(cls.family == family, cls.revoked_at.is_(None)).values(revoked_at=clock.now())
        )
        return result.rowcount


class RevokedAccessToken(db.Model):
    """A self-contained access token (never stored itself, see oidc/client_tokens.py)
    revoked before it expired: its jti, kept until that expiry."""

    __tablename__ = "revoked_access_tokens"

    id = db.Column(db.Integer, primary_key=True)
    jti = db.Column(db.String(64), nullable=False, unique=True)
    client_id = db.Column(db.Integer, db.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False)
    expires_at = db.Column(db.DateTime, nullable=False, index=True)
    revoked_at = db.Column(db.DateTime, nullable=False, default=clock.now)


class UsedDpopProof(db.Model):
    """A DPoP proof accepted once (RFC 9449 §11.1): its key and the SHA-256 of its jti,
    kept while a proof of that age would still be accepted, so that no worker process
    accepts it again."""

    __tablename__ = "used_dpop_proofs"
    __table_args__ = (db.UniqueConstraint("jkt", "jti_hash", name="uq_used_dpop_proofs_jkt_jti_hash"),)

    id = db.Column(db.Integer, primary_key=True)
    jkt = db.Column(db.String(43), nullable=False)
    jti_hash = db.Column(db.String(64), nullable=False)
    expires_at = db.Column(db.DateTime, nullable=False, index=True)
