"""Client: a relying service registered with Tunnus (Authlib's ClientMixin)."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress

from authlib.oauth2.rfc6749 import ClientMixin, list_to_scope, scope_to_list

from ..extensions import db
from ..services import clock, redirect_uris

SUPPORTED_SCOPES = ("openid", "profile", "email", "offline_access", "organizations")
# How a client that can keep a credential authenticates (public clients: "none"). Before
# "none" wherever both are listed: an assertion sent with a client_id must be checked.
CONFIDENTIAL_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")


def could_be_client_id(value) -> bool:
    """Could a client be registered under `value`: 1-64 printable characters. Anything else
    (a NUL, half a character, from a Basic header or an assertion's sub) names none, and is
    neither looked up, nor counted under in Redis, nor stored in an audit record."""
    return isinstance(value, str) and 0 < len(value) <= 64 and value.isprintable()


def hash_secret(secret: str) -> str:
    # Secrets are 256-bit random strings, so a fast hash is safe and keeps /token fast.
    return hashlib.sha256(secret.encode()).hexdigest()


class Client(db.Model, ClientMixin):
    __tablename__ = "clients"

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(64), nullable=False, unique=True)
    secret_hash = db.Column(db.String(64))
    name = db.Column(db.String(200), nullable=False)
    redirect_uris = db.Column(db.JSON, nullable=False, default=list)
    post_logout_redirect_uris = db.Column(db.JSON, nullable=False, default=list)
    grant_types = db.Column(db.JSON, nullable=False, default=list)
    scope = db.Column(db.String(500), nullable=False, default=" ".join(SUPPORTED_SCOPES))
    is_public = db.Column(db.Boolean, nullable=False, default=False)
    first_party = db.Column(db.Boolean, nullable=False, default=False)
    id_token_signed_response_alg = db.Column(db.String(10), nullable=False, default="RS256")
    # RFC 9449 §5.2: every token request must carry a DPoP proof, so every access token
    # (and a public client's every refresh token) is bound to the client's key.
    dpop_bound_access_tokens = db.Column(db.Boolean, nullable=False, default=False, server_default=db.false())
    # consumer: no organisation; business: acts for an organisation with a right; both.
    org_mode = db.Column(db.String(16), nullable=False, default="consumer", server_default="consumer")
    # Tokens for this client carry the legacy ids this system had for the person.
    legacy_system = db.Column(db.String(64))
    # A building's touch screen: PIN logins for the residents of this organisation only.
    kiosk_organisation_id = db.Column(db.Integer, db.ForeignKey("organisations.id", ondelete="SET NULL"))
    # The networks (CIDR) a kiosk's sign-ins may come from; None: anywhere (kiosks
    # registered before this was asked).
    kiosk_networks = db.Column(db.JSON)
    # RFC 9126 §6: authorization requests only pushed to /par, never sent whole to /authorize.
    require_pushed_authorization_requests = db.Column(db.Boolean, nullable=False, default=False,
                                                      server_default=db.false())
    backchannel_logout_uri = db.Column(db.String(2000))
    frontchannel_logout_uri = db.Column(db.String(2000))
    # private_key_jwt (RFC 7523 §2.2): the public keys its client assertions are signed
    # with, a JWK Set given here or published at jwks_uri. Such a client has no secret.
    jwks = db.Column(db.JSON)
    jwks_uri = db.Column(db.String(2000))
    created_at = db.Column(db.DateTime, nullable=False, default=clock.now)

    @property
    def client_metadata(self) -> dict:
        return {"post_logout_redirect_uris": list(self.post_logout_redirect_uris or [])}

    def kiosk_reachable_from(self, ip: str | None) -> bool:
        if self.kiosk_networks is None:
            return True
        try:
            address = ipaddress.ip_address(ip or "")
        except ValueError:
            return False
        address = getattr(address, "ipv4_mapped", None) or address  # ::ffff:192.0.2.1 is 192.0.2.1
        return any(address in ipaddress.ip_network(network) for network in self.kiosk_networks)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self):
        # OAuth lets a single registered URI be implied; OIDC requires it be sent.
        return None

    def get_allowed_scope(self, scope: str) -> str:
        if not scope:
            return ""
        allowed = set(scope_to_list(self.scope))
        return list_to_scope([s for s in scope_to_list(scope) if s in allowed])

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uris.matches(redirect_uri, self.redirect_uris or [], native=self.is_public)

    def check_client_secret(self, client_secret: str) -> bool:
        if not self.secret_hash:
            return False
        return hmac.compare_digest(self.secret_hash, hash_secret(client_secret))

    @property
    def token_endpoint_auth_method(self) -> str:
        """How it proves who it is (RFC 7591 §2); client_secret_basic also means _post."""
        if self.is_public:
            return "none"
        if self.jwks is not None or self.jwks_uri:
            return "private_key_jwt"
        return "client_secret_basic"

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        # One kind of credential per client: a key holder has no secret, and a secret
        # holder's assertions are not looked at (no key to check them with anyway).
        registered = self.token_endpoint_auth_method
        if registered == "client_secret_basic":
            return method in ("client_secret_basic", "client_secret_post")
        return method == registered

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and "authorization_code" in self.grant_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in (self.grant_types or [])

    @classmethod
    def by_client_id(cls, client_id: str, *, for_change: bool = False) -> "Client | None":
        """for_change: the row held until the commit (FOR NO KEY UPDATE: tokens naming the
        client are still written), so two changes of it take turns and the later one finds
        it as the earlier left it, or gone."""
        if not client_id or len(client_id) > 64:
            return None
        query = db.select(cls).filter_by(client_id=client_id)
        if for_change:
            query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
        return db.session.execute(query).scalar_one_or_none()


class UsedAssertion(db.Model):
    """A client assertion already used (RFC 7523 §3: its jti, hashed), kept until it
    expires so that it is accepted once, whichever worker process it reaches."""

    __tablename__ = "used_client_assertions"
    __table_args__ = (db.UniqueConstraint("client_id", "jti_hash", name="uq_used_client_assertions_client_jti"),)

    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.Integer, db.ForeignKey("clients.id", ondelete="CASCADE"), nullable=False)
    jti_hash = db.Column(db.String(64), nullable=False)
    expires_at = db.Column(db.DateTime, nullable=False, index=True)
