"""Token introspection, RFC 7662. A client may introspect only tokens issued to it."""
from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint
from flask import Blueprint, current_app

from ...models.client import CONFIDENTIAL_AUTH_METHODS
from .. import request_checks
from ..token_view import PresentedToken

bp = Blueprint("oidc_introspection", __name__)


class IntrospectionEndpoint(_IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = list(CONFIDENTIAL_AUTH_METHODS)

    def check_params(self, request, client):
        # RFC 7662 §2.1: the hint only speeds the search, which covers every kind anyway
        # (PresentedToken.find); one we do not know is ignored, not refused.
        request_checks.single_valued(request.payload.data)
        if "token" not in request.form:
            raise InvalidRequestError()

    def query_token(self, token_string, token_type_hint):
        return PresentedToken.find(token_string, token_type_hint)

    def check_permission(self, token, client, request):
        return token.check_client(client)

    def introspect_token(self, token):
        return token.introspection(self.server.issuer)


@bp.route("/introspect", methods=["POST"])
def introspect():
    return current_app.extensions["idp.server"].create_endpoint_response(IntrospectionEndpoint.ENDPOINT_NAME)
