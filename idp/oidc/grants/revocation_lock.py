"""Issuing a person's tokens takes turns with ending their sessions and revoking their
grants: an Authlib grant extension of the code and refresh grants, as DPoPBinding is.

A revocation (sessions.end_all after a password reset or "end other sessions", a consent
or an organisation's right withdrawn, a refresh token revoked at /revoke) is one UPDATE of
the person's token rows, and under READ COMMITTED it cannot see a row that a token request
has inserted and not yet committed: that token would outlive it, its session ended. So a
token request, before it checks what its grant stands on, holds the person's row (shared:
their token requests still run side by side) and its session's row until its commit. A
revocation holds the person's row alone (Identity.lock) and ending a session updates the
session's row (sessions.end). Whichever comes second sees what the first committed: the
revocation the new tokens, or the token request the ended session here, the withdrawn
right (tokens.OrganisationInAccessToken, after this) or its refresh token revoked
(RefreshTokenGrant.revoke_old_credential).

A code is redeemed only while its session is active: it outlives a logout by up to
IDP_CODE_TTL, and its tokens would carry a sid already ended, alive though the person
logged out and no service is told again. A refresh token that is not offline_access ends
with its session (README, "Logout"): one whose session was ended, or has expired, is
refused even if, somehow, it was not revoked then.

SQLite ignores the locks, and needs none: it lets one writer in at a time. A code
exchange's first write consumes the code, before these checks; a refresh's is its new
token, right before the old one is retired only if it is still unrevoked.
"""
from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidGrantError

from ...extensions import db
from ...models import Identity, LoginSession
from ...services import clock


class RevocationLock:
    def __call__(self, grant):
        grant.register_hook("before_create_token_response", self.hold)

    @staticmethod
    def hold(grant):
        code, refresh_token = grant.request.authorization_code, grant.request.refresh_token
        granted = code or refresh_token
        if not Identity.lock(granted.identity_id, shared=True):
            raise InvalidGrantError("The account no longer exists.")
        if refresh_token is not None and "offline_access" in refresh_token.refresh_scope.split():
            return  # outlives its session; ending all sessions revokes it, seen when it is retired
        ended_at, expires_at = _session(granted.sid)
        if code is not None and (ended_at is not None or expires_at is None or expires_at <= clock.now()):
            raise InvalidGrantError("The session the code was issued in has ended.")
        # Ended, or expired (or pruned since): before, only a logout counted, and a refresh
        # token without offline_access outlived its session for as long as it was used.
        if refresh_token is not None and (ended_at is not None or refresh_token.sid is not None and (
                expires_at is None or expires_at <= clock.now())):
            raise InvalidGrantError("The session the refresh token was issued in has ended.")


def _session(sid: str | None) -> tuple:
    """(ended_at, expires_at) of the session, read once any request ending it has committed,
    and held until this one commits; (None, None) if there is none."""
    if not sid:
        return None, None
    row = db.session.execute(
        db.select(LoginSession.ended_at, LoginSession.expires_at).where(LoginSession.sid == sid)
        .with_for_update(read=True)
    ).first()
    return tuple(row) if row is not None else (None, None)
