"""UserInfo endpoint, OIDC Core §5.3: GET or POST with a Bearer access token (RFC 6750)."""
from __future__ import annotations

from authlib.consts import default_json_headers
from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2.rfc6750 import BearerTokenValidator, InvalidTokenError
from authlib.oidc.core import UserInfoEndpoint as _UserInfoEndpoint
from flask import Blueprint, current_app

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
        super().validate_token(token, scopes, request)
        # A kiosk's token ends with its session, even one that ended by going idle.
        if not kiosk_sessions.token_usable(token):
            raise InvalidTokenError(realm=self.realm, extra_attributes=self.extra_attributes)


resource_protector = ResourceProtector()
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
