"""Issuing and storing tokens: JWT access tokens (RFC 9068), opaque refresh tokens.

Only SHA-256 hashes of the values are stored. Tokens of one login share a `family`:
"code:<id>" for those descending from an authorization code, so a replayed code or a
reused refresh token can revoke them all. A token a client gets for itself
(client_credentials) is not stored at all: see client_tokens.py.
"""
from __future__ import annotations

import datetime as dt
import functools
import secrets

from authlib.common.security import generate_token
from authlib.oauth2.rfc6749 import InvalidGrantError, UnauthorizedClientError
from flask import current_app
from joserfc.jws import default_registry
from joserfc.util import json_b64encode, urlsafe_b64encode

from ..extensions import db
from ..methods import pin
from ..models import Token
from ..models.grants import token_hash
from ..services import clock

ACCESS_TOKEN_ALG = "ES256"
_SIGN = default_registry.get_alg(ACCESS_TOKEN_ALG)


@functools.lru_cache(maxsize=8)
def _header(kid: str) -> bytes:
    """The encoded JOSE header, the same for every access token one key signs."""
    return json_b64encode({"alg": ACCESS_TOKEN_ALG, "typ": "at+jwt", "kid": kid})


def _compact(kid: str, claims: dict, key) -> str:
    """The JWS compact serialization (RFC 7515 §7.1), signed by joserfc's ES256 itself:
    jwt.encode would check our own header and claims again, a third of a token's cost."""
    signing_input = _header(kid) + b"." + json_b64encode(claims)
    return (signing_input + b"." + urlsafe_b64encode(_SIGN.sign(signing_input, key))).decode("ascii")


class TokenGenerator:
    """Authlib's token generator interface, with our clock and key store. Needs no app
    context: the fast path issues client_credentials tokens without one."""

    def __init__(self, keystore, issuer: str, access_ttl: int):
        self.keystore = keystore
        self.issuer = issuer
        self.access_ttl = access_ttl

    def __call__(self, grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True,
                 extra_claims: dict | None = None, jkt: str | None = None):
        """`jkt`: the DPoP key the token is bound to (RFC 9449 §6.1), if any."""
        if user is not None and user.sub == client.client_id:
            # It would pass for the client's own token, which has no stored row (client_tokens.py).
            raise UnauthorizedClientError("The client_id equals the person's subject; register the client anew.")
        expires_in = expires_in or self.access_ttl
        now = clock.timestamp()
        claims = {
            "iss": self.issuer,
            "sub": user.sub if user is not None else client.client_id,
            "aud": client.client_id,
            "client_id": client.client_id,
            "iat": now,
            "exp": now + expires_in,
            "jti": secrets.token_urlsafe(16),
            "scope": scope or "",
            **(extra_claims or {}),
        }
        if jkt is not None:
            claims["cnf"] = {"jkt": jkt}
        key = self.keystore.signing_key(ACCESS_TOKEN_ALG)
        token = {
            "token_type": "DPoP" if jkt is not None else "Bearer",
            "access_token": _compact(key.kid, claims, key.key),
            "expires_in": expires_in,
            "scope": scope or "",
        }
        if include_refresh_token:
            token["refresh_token"] = generate_token(48)
        return token


class OrganisationInAccessToken:
    """Grant mixin: the access token names the organisation acted for (RFC 9068 §2.2.3.1
    lets it carry such claims), so a resource server can check the right by itself, and
    none is issued once the person no longer holds that right (a code issued before the
    right was revoked, or the organisation suspended, would otherwise still redeem); and
    a kiosk's PIN login gets no refresh token and only short access tokens."""

    def generate_token(self, user=None, scope=None, grant_type=None, expires_in=None, include_refresh_token=True):
        from .org_choice import still_allowed
        from .org_claims import active

        origin = self.request.authorization_code or self.request.refresh_token
        if origin is not None and origin.organisation_id is not None and not still_allowed(
                self.request.client, user, origin.organisation_id):
            raise InvalidGrantError("The right to use this service for the organisation has ended.")
        if origin is not None and pin.AMR in (origin.amr or []):
            # A kiosk's PIN login: nothing outlives the kiosk session, whatever the client asked.
            include_refresh_token = False
            scope = " ".join(value for value in (scope or "").split() if value != "offline_access")
            expires_in = min(expires_in or current_app.config["IDP_ACCESS_TOKEN_TTL"],
                             current_app.config["IDP_KIOSK_IDLE_TIMEOUT"])
        return self.server.token_generator(
            grant_type or self.GRANT_TYPE, self.request.client, user=user, scope=scope, expires_in=expires_in,
            include_refresh_token=include_refresh_token,
            extra_claims=active(user, origin.organisation_id if origin is not None else None, scope or ""),
            jkt=proof_key(self.request))


def proof_key(request) -> str | None:
    """The key of the token request's DPoP proof (Server.create_token_response), if any."""
    return request.dpop.jkt if request.dpop is not None else None


def save(token: dict, request) -> Token | None:
    """Authlib's save_token: store hashes, link to the code or refresh token it came from."""
    config = current_app.config
    now = clock.now()
    code = request.authorization_code
    previous = request.refresh_token
    origin = code or previous
    if origin is None:
        return None  # the client's own token (client_credentials): self-contained, never stored
    row = Token(
        access_token_hash=token_hash(token["access_token"]),
        family=code.family if code is not None else previous.family,
        client_id=request.client.id,
        identity_id=request.user.id if request.user is not None else None,
        scope=token.get("scope", ""),
        issued_at=now,
        access_expires_at=now + dt.timedelta(seconds=token["expires_in"]),
        dpop_jkt=proof_key(request),
    )
    # A refresh may narrow the access token; the refresh token keeps what was granted (RFC 6749 §6).
    row.refresh_scope = row.scope if code is not None else previous.refresh_scope
    row.sid, row.auth_time, row.acr, row.amr = origin.sid, origin.auth_time, origin.acr, origin.amr
    row.organisation_id = origin.organisation_id
    row.userinfo_claims = (code.claims_request or {}).get("userinfo") if code is not None else previous.userinfo_claims
    if "refresh_token" in token:
        row.refresh_token_hash = token_hash(token["refresh_token"])
        row.refresh_expires_at = now + dt.timedelta(seconds=config["IDP_REFRESH_TOKEN_TTL"])
    db.session.add(row)
    return row
