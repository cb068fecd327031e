"""Authorization code grant (RFC 6749 §4.1) with OIDC (Core §3.1), PKCE (RFC 7636) and
DPoP's `dpop_jkt` (RFC 9449 §10, dpop_binding.py).

Codes are single use and short-lived (IDP_CODE_TTL). A second use of a code is a replay:
it fails, and every token issued from that code is revoked (RFC 6749 §4.1.2).
"""
from __future__ import annotations

import datetime as dt

from authlib.oauth2.rfc6749 import AccessDeniedError, InvalidRequestError, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import OpenIDCode
from flask import current_app, g

from ...extensions import db
from ...models import AuthorizationCode, Token
from ...models.client import CONFIDENTIAL_AUTH_METHODS
from ...models.grants import token_hash
from ...services import audit, clock
from .. import acr, claims, claims_request
from ...web.browser import origin
from ..tokens import OrganisationInAccessToken

TOKEN_AUTH_METHODS = [*CONFIDENTIAL_AUTH_METHODS, "none"]


class AuthorizationCodeGrant(OrganisationInAccessToken, grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def validate_requested_scope(self):
        # OIDC Core §3.1.2.1: scope values not understood SHOULD be ignored, and RFC 6749 §3.3
        # lets the server grant fewer than asked; relying-service libraries often ask for
        # `address` or `phone` by default. The consent page, the code and the token
        # response's `scope` then name only what is granted.
        if self.request.payload.scope:
            self.request.payload.data["scope"] = self.client.get_allowed_scope(self.request.payload.scope)

    def authenticate_token_endpoint_client(self):
        client = super().authenticate_token_endpoint_client()
        # After the client is known, before the code is looked at: /authorize takes no request
        # without a redirect_uri, so every code has one and RFC 6749 §4.1.3 wants it back.
        # Missing is invalid_request (§5.2), where Authlib would say invalid_grant, and the
        # mistake does not use up the code.
        if not self.request.payload.redirect_uri:
            raise InvalidRequestError("redirect_uri is missing: send the one the authorization request used.")
        return client

    def save_authorization_code(self, code, request):
        session = request.login_session
        # A kiosk's PIN session serves that kiosk alone, and a kiosk only its own sessions.
        if session.kiosk_client_id != (request.client.id if request.client.kiosk_organisation_id else None):
            raise AccessDeniedError("This session cannot sign in to this client.",
                                    redirect_uri=request.payload.redirect_uri)
        payload = request.payload.data
        now = clock.now()
        db.session.add(AuthorizationCode(
            code_hash=token_hash(code),
            client_id=request.client.id,
            identity_id=request.user.id,
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            nonce=payload.get("nonce"),
            code_challenge=payload.get("code_challenge"),
            code_challenge_method=payload.get("code_challenge_method"),
            sid=session.sid,
            organisation_id=request.organisation.id if request.organisation is not None else None,
            auth_time=clock.to_timestamp(session.auth_time),
            acr=acr.granted(session.acr, payload),
            amr=session.amr,
            claims_request=claims.granted(claims_request.parse(payload.get("claims"), None), request.client),
            dpop_jkt=payload.get("dpop_jkt"),  # checked by DPoPBinding
            expires_at=now + dt.timedelta(seconds=current_app.config["IDP_CODE_TTL"]),
        ))
        db.session.commit()

    def query_authorization_code(self, code, client):
        # Consume atomically, in one statement: of two concurrent exchanges exactly one wins.
        row = db.session.execute(
            db.update(AuthorizationCode)
            .where(AuthorizationCode.code_hash == token_hash(code), AuthorizationCode.client_id == client.id,
                   AuthorizationCode.used_at.is_(None))
            .values(used_at=clock.now())
            .returning(AuthorizationCode)
        ).scalar_one_or_none()
        if row is None:
            return self._replayed(code, client)
        # Its session is checked once no logout can slip in between (revocation_lock.py).
        return None if row.is_expired() else row

    def _replayed(self, code, client):
        row = db.session.execute(
            db.select(AuthorizationCode).filter_by(code_hash=token_hash(code), client_id=client.id)
        ).scalar_one_or_none()
        if row is not None:
            revoked = Token.revoke_family(row.family)
            audit.record("token.code_replayed", "failure", origin=origin(), identity=row.identity_id,
                         client_id=client.client_id, tokens_revoked=revoked)
            db.session.commit()
        return None

    def delete_authorization_code(self, authorization_code):
        # Already consumed in query_authorization_code; the token endpoint commits.
        audit.record("token.issued", origin=origin(), identity=authorization_code.identity_id,
                     client_id=authorization_code.client.client_id, grant="authorization_code")

    def authenticate_user(self, authorization_code):
        return authorization_code.identity


class OpenIDConnect(OpenIDCode):
    """ID tokens signed with the client's algorithm by the current key of the key store."""

    def __init__(self, keystore, issuer: str):
        super().__init__(require_nonce=False)
        self.keystore = keystore
        self.issuer = issuer

    def exists_nonce(self, nonce, request):
        # The nonce binds an ID token to the relying service's own session, which checks
        # it (OIDC Core §3.1.3.7, §15.5.2); codes are single use and PKCE-bound anyway.
        # Refusing a nonce seen before would only turn the same request made again (the
        # Back button to this URL, a retried sign-in) into an error page for the person.
        return False

    def generate_user_info(self, user, scope):
        # The scope's claims depend on the client (legacy_ids) and the login's level (the
        # verified name): they come from the code, below. Authlib applies these last.
        return {"sub": user.sub}

    def get_client_algorithm(self, client):
        return client.id_token_signed_response_alg

    def resolve_client_private_key(self, client):
        return self._signing_key(client).key

    def get_encode_header(self, client):
        return {"alg": self.get_client_algorithm(client), "typ": "JWT", "kid": self._signing_key(client).kid}

    def _signing_key(self, client):
        """One key for the ID token's header and its signature. Asked for each apart, a token
        issued in the second a rotated key began signing named one key and was signed by
        the other, and no relying service could verify it."""
        alg = self.get_client_algorithm(client)
        chosen = g.setdefault("id_token_keys", {})
        if alg not in chosen:
            chosen[alg] = self.keystore.signing_key(alg)
        return chosen[alg]

    def get_compatible_claims(self, request):
        now = clock.timestamp()
        return {
            "iss": self.issuer,
            "aud": request.client.client_id,
            "iat": now,
            "exp": now + current_app.config["IDP_ID_TOKEN_TTL"],
        }

    def get_authorization_code_claims(self, authorization_code):
        result = super().get_authorization_code_claims(authorization_code)
        if authorization_code.sid:
            result["sid"] = authorization_code.sid
        result.update(claims.for_grant(authorization_code, (authorization_code.claims_request or {}).get("id_token")))
        return result


class PKCE(CodeChallenge):
    """PKCE with S256 only (RFC 9700 §2.1.1): required of public clients, optional otherwise."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        if grant.request.client.is_public and not data.get("code_challenge"):
            raise InvalidRequestError("Public clients must send 'code_challenge' (PKCE, S256).")
        if data.get("code_challenge") and data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be 'S256'.")
        super().validate_code_challenge(grant, redirect_uri)
