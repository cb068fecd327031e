"""Token revocation, RFC 7009. Revoking a refresh token ends its whole family (token_view.py)."""
from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint as _RevocationEndpoint
from flask import Blueprint, current_app

from ...extensions import db
from ...models.client import CONFIDENTIAL_AUTH_METHODS
from ...services import audit
from ...web.browser import origin
from .. import request_checks
from ..token_view import PresentedToken

bp = Blueprint("oidc_revocation", __name__)


class RevocationEndpoint(_RevocationEndpoint):
    CLIENT_AUTH_METHODS = [*CONFIDENTIAL_AUTH_METHODS, "none"]

    def check_params(self, request, client):
        # RFC 7009 §2.2: a hint we do not know is ignored, not refused; PresentedToken.find
        # looks among every kind whatever the hint.
        request_checks.single_valued(request.payload.data)
        if "token" not in request.form:
            raise InvalidRequestError()

    def query_token(self, token_string, token_type_hint):
        return PresentedToken.find(token_string, token_type_hint)

    def revoke_token(self, token, request):
        token.revoke(request.client)
        audit.record("token.revoked", origin=origin(), identity=token.identity_id,
                     client_id=request.client.client_id, kind=token.kind)
        db.session.commit()


@bp.route("/revoke", methods=["POST"])
def revoke():
    return current_app.extensions["idp.server"].create_endpoint_response(RevocationEndpoint.ENDPOINT_NAME)
