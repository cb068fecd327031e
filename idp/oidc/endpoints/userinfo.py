"""UserInfo endpoint, OIDC Core §5.3: GET or POST with a Bearer access token (RFC 6750),
in the Authorization header or, on a POST, in the form body (§2.2); never in the query,
which proxies and logs keep (RFC 9700 §4.3.2). Refusals follow RFC 6750 §3: without a
token only the challenge, no error code; a token without `openid` is 403
insufficient_scope naming the scope needed."""
from __future__ import annotations

from authlib.consts import default_json_headers
from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6750 import BearerTokenValidator, InsufficientScopeError, InvalidTokenError
from authlib.oidc.core import UserInfoEndpoint as _UserInfoEndpoint
from flask import Blueprint, current_app, request as http_request

from ...models import Token
from ...services import kiosk_sessions
from .. import claims

bp = Blueprint("oidc_userinfo", __name__)


class AccessTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        if not token_string or len(token_string) > 4096:
            return None
        token = Token.by_access_token(token_string)
        # Tokens a client got for itself (client credentials) name no person.
        return token if token is not None and token.identity is not None else None

    def validate_token(self, token, scopes, request):
        try:
            super().validate_token(token, scopes, request)
        except InsufficientScopeError:
            raise ScopeNeeded(scopes) from None
        # A kiosk's token ends with its session, even one that ended by going idle.
        if not kiosk_sessions.token_usable(token):
            raise InvalidTokenError(realm=self.realm, extra_attributes=self.extra_attributes)


class NoBearerToken(OAuth2Error):
    """No Bearer token at all (none, or another scheme): the challenge alone."""
    status_code = 401

    def get_body(self):
        return []

    def get_headers(self):
        return [*super().get_headers(), ("WWW-Authenticate", "Bearer")]


class ScopeNeeded(InsufficientScopeError):
    def __init__(self, scopes):
        super().__init__()
        self.scopes = scopes

    def get_headers(self):
        scope = " ".join(self.scopes or [])
        return [*super().get_headers(), ("WWW-Authenticate", f'Bearer error="insufficient_scope", scope="{scope}"')]


class UserInfoProtector(ResourceProtector):
    def parse_request_authorization(self, request):
        header = request.headers.get("Authorization")
        in_body = (http_request.method == "POST" and http_request.mimetype == "application/x-www-form-urlencoded"
                   and "access_token" in http_request.form)
        if header and in_body:  # RFC 6750 §2: one method per request
            raise InvalidRequestError("The access token was sent in both the header and the body.")
        if in_body:
            return self.get_token_validator("bearer"), http_request.form["access_token"]
        scheme, _, token = (header or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NoBearerToken()
        return self.get_token_validator("bearer"), token.strip()


resource_protector = UserInfoProtector()
resource_protector.register_token_validator(AccessTokenValidator())


class UserInfoEndpoint(_UserInfoEndpoint):
    def __call__(self, request):
        # Authlib's version knows only the user; the claims depend on the token (its client,
        # organisation, level and the claims requested for userinfo).
        token = self.resource_protector.acquire_token("openid")
        return 200, claims.for_grant(token, token.userinfo_claims), default_json_headers


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo():
    return current_app.extensions["idp.server"].create_endpoint_response(UserInfoEndpoint.ENDPOINT_NAME)
