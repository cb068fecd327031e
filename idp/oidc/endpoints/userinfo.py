"""UserInfo endpoint, OIDC Core §5.3: GET or POST with a Bearer access token (RFC 6750)."""
from __future__ import annotations

from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oidc.core import UserInfoEndpoint as _UserInfoEndpoint
from flask import Blueprint, current_app

from ...models import Token
from .. import claims

bp = Blueprint("oidc_userinfo", __name__)


class AccessTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string):
        if not token_string or len(token_string) > 4096:
            return None
        token = Token.by_access_token(token_string)
        # Tokens a client got for itself (client credentials) name no person.
        return token if token is not None and token.identity is not None else None


resource_protector = ResourceProtector()
resource_protector.register_token_validator(AccessTokenValidator())


class UserInfoEndpoint(_UserInfoEndpoint):
    def generate_user_info(self, user, scope):
        return claims.for_scope(user, scope)

    def get_issuer(self):
        return self.server.issuer


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo():
    return current_app.extensions["idp.server"].create_endpoint_response(UserInfoEndpoint.ENDPOINT_NAME)
