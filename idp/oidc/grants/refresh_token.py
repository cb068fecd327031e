"""Refresh token grant (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2).

Every use returns a new refresh token and retires the old one. Presenting a retired one
means it leaked: the whole family (every token of that login) is revoked. A `scope` in the
request narrows the new access token only: the new refresh token keeps the scope granted
at the start (Token.refresh_scope), which is also what an omitted `scope` means.
"""
from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidScopeError, grants, scope_to_list

from ...extensions import db
from ...models import Identity, Token
from ...services import audit, clock
from ...web.browser import origin
from ..tokens import OrganisationInAccessToken
from .authorization_code import TOKEN_AUTH_METHODS


def _revoke_for_reuse(token: Token) -> None:
    Identity.lock(token.identity_id)  # a refresh of the family under way commits first: its new token is seen
    revoked = Token.revoke_family(token.family)
    if revoked:  # a family already dead is no news, however often its tokens come back
        audit.record("token.refresh_reused", "failure", origin=origin(), identity=token.identity_id,
                     client_id=token.client.client_id, tokens_revoked=revoked)
    db.session.commit()


class RefreshTokenGrant(OrganisationInAccessToken, grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        token = Token.by_refresh_token(refresh_token)
        if token is None:
            return None
        # Reuse whatever became of the retired token since: revoking its access token at
        # /revoke must not let a thief's replay pass without ending the family.
        if token.refresh_used_at is not None:
            _revoke_for_reuse(token)
            return None
        # The person's row shared, as issuing takes it (revocation_lock.py), and from the start,
        # not after a hold: an email change holding the row writes the address, which waits
        # for every hold (docs/resilience.md). An account being deleted is waited for, then gone.
        if not Identity.lock(token.identity_id, shared=True) or not token.refresh_is_usable():
            return None
        return token

    def authenticate_user(self, refresh_token):
        return refresh_token.identity

    def _validate_token_scope(self, token):
        # Authlib checks against get_scope(), the access token's, which an earlier refresh may have narrowed.
        if not set(scope_to_list(self.request.payload.scope) or []) <= set(scope_to_list(token.refresh_scope) or []):
            raise InvalidScopeError()

    def issue_token(self, user, refresh_token):
        return self.generate_token(user=user, scope=self.request.payload.scope or refresh_token.refresh_scope,
                                   include_refresh_token=self.INCLUDE_NEW_REFRESH_TOKEN)

    def revoke_old_credential(self, refresh_token):
        won = db.session.execute(
            db.update(Token)
            .where(Token.id == refresh_token.id, Token.refresh_used_at.is_(None), Token.revoked_at.is_(None))
            .values(refresh_used_at=clock.now())
        ).rowcount == 1
        if not won:
            # Another request rotated it first: this is reuse, and the new token must not live.
            db.session.rollback()
            _revoke_for_reuse(refresh_token)
            raise InvalidGrantError("The refresh token was already used.")
        audit.record("token.refreshed", origin=origin(), identity=refresh_token.identity_id,
                     client_id=refresh_token.client.client_id)
