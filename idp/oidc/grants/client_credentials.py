"""Client credentials grant (RFC 6749 §4.4): a confidential client acting for itself."""
from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidScopeError, grants, scope_to_list

from ...models.client import CONFIDENTIAL_AUTH_METHODS


# These scopes describe a person; a client acting for itself cannot have them.
USER_SCOPES = {"openid", "profile", "email", "offline_access"}


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(CONFIDENTIAL_AUTH_METHODS)

    def validate_token_request(self):
        super().validate_token_request()
        if USER_SCOPES & set(scope_to_list(self.request.payload.scope) or []):
            raise InvalidScopeError("User scopes cannot be granted to a client acting for itself.")
