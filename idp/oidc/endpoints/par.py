"""Pushed authorization request endpoint, RFC 9126 §2.

A client posts the parameters of an authorization request here, authenticated as at
/token (§2: the methods of the authorization code grant, public clients with their
client_id alone), and gets a request_uri to send the browser to /authorize with. The
request is checked as /authorize would check it before it is kept (§2.1), so a bad one
is refused here, in JSON, and never reaches the person; /authorize checks it again when
it is used. Errors are the token endpoint's (§2.3): a redirect_uri that is not
registered is invalid_request, nothing is redirected, and no error asks for a person
(consent_required and the like), as nobody is there. A DPoP proof sent with the push binds
the code to its key, as `dpop_jkt` would (RFC 9449 §10.1).
"""
from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from flask import Blueprint, current_app, jsonify, request

from .. import acr, claims_request, dpop, id_token_hint, pushed_requests, request_checks
from ..grants.authorization_code import AuthorizationCodeGrant
from ..server import AuthorizationRequest

bp = Blueprint("oidc_par", __name__)

# The name client authentication methods are checked for (Client.check_endpoint_auth_method).
ENDPOINT = "pushed_authorization_request"
# How the client proved who it is: not part of the authorization request.
CLIENT_AUTHENTICATION = ("client_secret", "client_assertion", "client_assertion_type")


@bp.route("/par", methods=["POST"])
def push():
    current_app.extensions["idp.par_limits"].check(request)
    server = current_app.extensions["idp.server"]
    oauth_request = server.create_oauth2_request(request)
    try:
        request_checks.single_valued(request.values)  # what Authlib reads, the query included
        client = server.authenticate_client(oauth_request, AuthorizationCodeGrant.TOKEN_ENDPOINT_AUTH_METHODS,
                                            endpoint=ENDPOINT)
        params = _pushed_params(client)
        _check(server, params)
        _bind_to_proof_key(server, params)
    except OAuth2Error as error:
        error.redirect_uri = error.state = None  # answered to the client itself, never through the browser
        return server.handle_error_response(oauth_request, error)
    request_uri, expires_in = pushed_requests.keep(client, params)
    response = jsonify(request_uri=request_uri, expires_in=expires_in)
    response.status_code = 201
    response.headers["Cache-Control"] = "no-cache, no-store"
    return response


def _pushed_params(client) -> dict:
    params = {key: value for key, value in request_checks.given(request.form).items()
              if key not in CLIENT_AUTHENTICATION}
    # A client_id naming another client than the authenticated one was refused there (server.py).
    params["client_id"] = client.client_id
    if "request_uri" in params:  # §2.1: a pushed request is never itself a reference
        raise InvalidRequestError("'request_uri' cannot be pushed.")
    return params


def _bind_to_proof_key(server, params: dict) -> None:
    proof = dpop.presented(request.headers, request.method, f"{server.issuer}/par")
    if proof is not None and params.setdefault("dpop_jkt", proof.jkt) != proof.jkt:
        raise dpop.InvalidDpopProof("'dpop_jkt' names another key than the one the DPoP proof was made with.")


def _check(server, params: dict) -> None:
    """Everything /authorize checks before it asks who the person is (authorize.py)."""
    request_checks.lengths(params, params.keys(), redirect_uri=None)
    request_checks.printable(params, ("client_id", "redirect_uri"))
    request_checks.supported(params, redirect_uri=None)
    # Authlib trims the scope to what the client may ask for in the copy it checks: the
    # request is kept as sent, and /authorize trims it the same way.
    grant = server.get_authorization_grant(AuthorizationRequest(dict(params), request.url))
    grant.validate_authorization_request()
    # PKCE of every client that pushes (RFC 9700 §2.1.1); /authorize goes on accepting a
    # confidential client's request sent whole without it, as it always has.
    if not params.get("code_challenge"):
        raise InvalidRequestError("'code_challenge' is required (PKCE, S256).")
    request_checks.prompts(params, redirect_uri=None)
    request_checks.max_age(params, redirect_uri=None)
    claims_request.parse(params.get("claims"), redirect_uri=None)
    acr.demanded(params, redirect_uri=None)
    id_token_hint.subject(params.get("id_token_hint"), server.keystore, server.issuer, redirect_uri=None)
