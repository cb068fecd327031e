"""A presented token string resolved to what it is: a client's self-contained access token
(client_tokens.py), or the stored row of a person's access or refresh token."""
from __future__ import annotations

from dataclasses import dataclass

from ..models import Identity, LoginSession, Token
from ..services import clock, kiosk_sessions
from . import org_claims
from .client_tokens import ClientToken


@dataclass
class PresentedToken:
    row: Token
    kind: str  # "access_token" or "refresh_token"

    @property
    def identity_id(self) -> int | None:
        return self.row.identity_id

    def check_client(self, client) -> bool:
        return self.row.check_client(client)

    def is_expired(self) -> bool:
        if self.kind == "refresh_token":
            return (self.row.refresh_expires_at is None or self.row.refresh_expires_at <= clock.now()
                    or not self._outlives_its_session() and LoginSession.active_by_sid(self.row.sid) is None)
        return self.row.is_expired()

    def _outlives_its_session(self) -> bool:
        """offline_access, or a token no session was named for; any other refresh token
        ends with its session, as /token refuses it then (grants/revocation_lock.py)."""
        return "offline_access" in (self.row.refresh_scope or "").split() or not self.row.sid

    def is_revoked(self) -> bool:
        if self.kind == "refresh_token" and self.row.refresh_used_at is not None:
            return True
        # A kiosk's token ends with its session, even one that ended by going idle.
        return self.row.is_revoked() or not kiosk_sessions.token_usable(self.row)

    def introspection(self, issuer: str) -> dict:
        row = self.row
        refresh = self.kind == "refresh_token"
        expires = row.refresh_expires_at if refresh else row.access_expires_at
        scope = row.refresh_scope if refresh else row.scope
        # A refresh token names no key here: only a confidential client introspects, and its
        # refresh tokens are bound by its authentication (RFC 9449 §5).
        jkt = None if refresh else row.dpop_jkt
        payload = {
            "active": True,
            "client_id": row.client.client_id,
            "token_type": "refresh_token" if refresh else "DPoP" if jkt else "Bearer",
            "scope": scope,
            "sub": row.identity.sub if row.identity else row.client.client_id,
            "aud": row.client.client_id,
            "iss": issuer,
            "exp": clock.to_timestamp(expires),
            "iat": clock.to_timestamp(row.issued_at),
        }
        if row.identity is not None and "email" in scope.split():  # the address only where it was consented to
            payload["username"] = row.identity.email
        if row.sid:
            payload["sid"] = row.sid
        if jkt:  # RFC 9449 §6.2: the key the resource server checks the proof against
            payload["cnf"] = {"jkt": jkt}
        payload.update(org_claims.active(row.identity, row.organisation_id, scope))
        return payload

    def revoke(self, client) -> None:
        """Revoking a refresh token ends its whole family."""
        if self.kind == "refresh_token":
            Identity.lock(self.row.identity_id)  # a refresh under way commits first: its new token is seen
            Token.revoke_family(self.row.family)
        else:
            self.row.revoked_at = self.row.revoked_at or clock.now()

    @classmethod
    def find(cls, value: str, hint: str | None) -> "PresentedToken | ClientToken | None":
        order = ["refresh_token", "access_token"] if hint == "refresh_token" else ["access_token", "refresh_token"]
        for kind in order:
            if kind == "access_token":
                found = ClientToken.find(value)
                if found is not None:
                    return found
            row = Token.by_access_token(value) if kind == "access_token" else Token.by_refresh_token(value)
            if row is not None:
                return cls(row, kind)
        return None
