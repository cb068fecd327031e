"""Token introspection, RFC 7662. A client may introspect only tokens issued to it."""
from __future__ import annotations

from authlib.oauth2.rfc7662 import IntrospectionEndpoint as _IntrospectionEndpoint
from flask import Blueprint, current_app

from ...services import clock
from .. import org_claims
from ..token_view import PresentedToken

bp = Blueprint("oidc_introspection", __name__)


class IntrospectionEndpoint(_IntrospectionEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string, token_type_hint):
        return PresentedToken.find(token_string, token_type_hint)

    def check_permission(self, token, client, request):
        return token.check_client(client)

    def introspect_token(self, token):
        row = token.row
        expires = row.refresh_expires_at if token.kind == "refresh_token" else row.access_expires_at
        payload = {
            "active": True,
            "client_id": row.client.client_id,
            "token_type": "Bearer" if token.kind == "access_token" else "refresh_token",
            "scope": row.scope,
            "sub": row.identity.sub if row.identity else row.client.client_id,
            "aud": row.client.client_id,
            "iss": self.server.issuer,
            "exp": clock.to_timestamp(expires),
            "iat": clock.to_timestamp(row.issued_at),
        }
        if row.identity is not None:
            payload["username"] = row.identity.email
        if row.sid:
            payload["sid"] = row.sid
        payload.update(org_claims.active(row.identity, row.organisation_id, row.scope))
        return payload


@bp.route("/introspect", methods=["POST"])
def introspect():
    return current_app.extensions["idp.server"].create_endpoint_response(IntrospectionEndpoint.ENDPOINT_NAME)
