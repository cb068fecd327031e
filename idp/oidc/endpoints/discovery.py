"""OpenID Provider metadata, OIDC Discovery 1.0 §3 (and RFC 8414, RFC 9207)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from .. import acr, claims, dpop
from ..server import SCOPES
from ..tokens import ACCESS_TOKEN_ALG
from ...models.client import CONFIDENTIAL_AUTH_METHODS
from ...services.client_keys import ALGORITHMS as ASSERTION_ALGORITHMS
from ...services.keys import ALGORITHMS

bp = Blueprint("oidc_discovery", __name__)


def metadata(issuer: str) -> dict:
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/authorize",
        "token_endpoint": f"{issuer}/token",
        "userinfo_endpoint": f"{issuer}/userinfo",
        "jwks_uri": f"{issuer}/jwks",
        "revocation_endpoint": f"{issuer}/revoke",
        "introspection_endpoint": f"{issuer}/introspect",
        "end_session_endpoint": f"{issuer}/logout",
        "pushed_authorization_request_endpoint": f"{issuer}/par",
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": list(ALGORITHMS),
        "access_token_signing_alg_values_supported": [ACCESS_TOKEN_ALG],
        "token_endpoint_auth_methods_supported": [*CONFIDENTIAL_AUTH_METHODS, "none"],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": [*CONFIDENTIAL_AUTH_METHODS, "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "introspection_endpoint_auth_methods_supported": list(CONFIDENTIAL_AUTH_METHODS),
        "introspection_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": list(dpop.ALGORITHMS),
        "claims_supported": claims.supported(),
        "prompt_values_supported": ["none", "login", "consent", "select_account", "create"],
        "ui_locales_supported": ["fi", "sv", "en"],
        # OIDC Core §5.5: claims by name in the ID token or userinfo, an essential acr (../claims.py).
        "claims_parameter_supported": True,
        "acr_values_supported": acr.SUPPORTED,
        "request_parameter_supported": False,
        # OIDC's request_uri names a request object to fetch; a pushed request's (RFC 9126) is
        # another thing, taken by /authorize all the same.
        "request_uri_parameter_supported": False,
        # Server-wide; a client may be held to it (tunnus clients require-par).
        "require_pushed_authorization_requests": False,
        "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": True,
        "frontchannel_logout_session_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    }


@bp.route("/.well-known/openid-configuration")
def openid_configuration():
    response = jsonify(current_app.extensions["idp.discovery"])
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["IDP_JWKS_MAX_AGE"]
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
