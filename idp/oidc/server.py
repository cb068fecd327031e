"""Wires Authlib's authorization server to Tunnus storage, grants and endpoints."""
from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer as FlaskAuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import (
    InvalidClientError,
    InvalidRequestError,
    OAuth2Request,
    UnsupportedResponseTypeError,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc9207 import IssuerParameter

from ..models.client import SUPPORTED_SCOPES
from ..services.keys import KeyStore
from . import basic_credentials, dpop, request_checks, tokens
from .client_assertion import NOT_AUTHENTICATED, AssertionRefused, PrivateKeyJWT
from .client_cache import ClientCache
from .client_jwks import ClientJwks
from .client_tokens import RevokedIds
from .endpoints.introspection import IntrospectionEndpoint
from .endpoints.revocation import RevocationEndpoint
from .endpoints.end_session import EndSessionEndpoint
from .endpoints.userinfo import UserInfoEndpoint, resource_protector
from .grants.authorization_code import PKCE, AuthorizationCodeGrant, OpenIDConnect
from .grants.client_credentials import ClientCredentialsGrant
from .grants.dpop_binding import DPoPBinding
from .grants.refresh_token import RefreshTokenGrant
from .grants.revocation_lock import RevocationLock

SCOPES = list(SUPPORTED_SCOPES)


class AuthorizationRequest(OAuth2Request):
    """An authorization request from stored parameters (resumed after login/consent)."""

    def __init__(self, params: dict, uri: str):
        super().__init__("GET", uri)
        self.payload = BasicOAuth2Payload(params)
        self.login_session = None
        self.organisation = None

    @property
    def args(self):
        return self.payload.data

    @property
    def form(self):
        return {}


class Server(FlaskAuthorizationServer):
    def __init__(self, issuer: str, keystore: KeyStore):
        super().__init__()
        self.issuer = issuer
        self.keystore = keystore

    def authenticate_client(self, request, methods, endpoint="token"):
        """Every endpoint that authenticates clients (/token, /par, /revoke, /introspect) comes here."""
        try:
            basic_client_id, _secret = basic_credentials.read(request.headers.get("Authorization"))
        except basic_credentials.Malformed as error:
            # §5.2: a client that tried the Authorization header is answered 401.
            raise InvalidClientError(status_code=401, description=str(error)) from None
        # RFC 6749 §2.3: one authentication method per request. A secret in the body next to
        # a Basic header would let either one be checked and the other ignored.
        basic = (request.headers.get("Authorization") or "").lower().startswith("basic ")
        sent = request_checks.given(request.payload.data)  # an empty one is none (RFC 6749 §3.1)
        if basic + ("client_secret" in sent) + ("client_assertion" in sent) > 1:
            raise InvalidRequestError("Use one client authentication method: a secret (in the header or the body) "
                                      "or a client assertion, not two.")
        # The request is the authenticated client's: a client_id naming another one is refused
        # as the assertion path refuses it (client_assertion.py), not ignored.
        if basic_client_id is not None and sent.get("client_id") not in (None, basic_client_id):
            raise InvalidClientError(status_code=401,
                                     description="client_id names another client than the Basic credentials")
        try:
            return super().authenticate_client(request, methods, endpoint)
        except AssertionRefused:
            raise
        except InvalidClientError:
            # Authlib answers an unknown client_id 400 "does not exist" and a wrong secret 401
            # with the methods it tried: one answer for all, so nobody learns which ids exist.
            raise InvalidClientError(status_code=401, description=NOT_AUTHENTICATED) from None

    def create_token_response(self, request=None):
        # RFC 9449 §5: a proof is checked, and used up, whatever the grant; the grant then
        # binds its tokens to the key (request.dpop; None without a DPoP header).
        request = self.create_oauth2_request(request)
        try:
            request_checks.single_valued(request.payload.data)  # the form and the query, as Authlib reads them
            if not request.payload.grant_type:  # §5.2: missing is invalid_request, not unsupported_grant_type
                raise InvalidRequestError(_missing("grant_type", request))
            request.dpop = dpop.presented(request.headers, request.method, f"{self.issuer}/token")
        except OAuth2Error as error:
            return self.handle_error_response(request, error)
        return super().create_token_response(request)

    def get_authorization_grant(self, request):
        response_type = request.payload.response_type
        if response_type and not request_checks.ERROR_TEXT.fullmatch(response_type):
            # Authlib quotes the value in its error's description, which allows no such
            # character (RFC 6749 §5.2), and fails making the error (a ValueError, our 500).
            raise _OnlyCode(response_type, redirect_uri=self._redirect_uri_answerable(request))
        try:
            return super().get_authorization_grant(request)
        except UnsupportedResponseTypeError as error:
            if request.payload.response_type:
                # Authlib gives the value as the description and its sentence as the value:
                # the client read "token", the person's page a garbled sentence.
                raise _OnlyCode(request.payload.response_type, redirect_uri=error.redirect_uri) from None
            # RFC 6749 §4.1.2.1: missing is invalid_request, answered where Authlib would have
            # sent unsupported_response_type (the redirect_uri once it is the client's).
            raise InvalidRequestError(_missing("response_type", request), redirect_uri=error.redirect_uri) from None

    def _redirect_uri_answerable(self, request) -> str | None:
        """Where Authlib sends an unsupported response_type: the client's redirect_uri once
        it is known to be registered (RFC 6749 §4.1.2.1), else nowhere (a page)."""
        client = self.query_client(request.payload.client_id) if request.payload.client_id else None
        if client is None:
            return None
        requested = request.payload.redirect_uri
        if not requested:
            return client.get_default_redirect_uri()
        return requested if client.check_redirect_uri(requested) else None

    def create_oauth2_request(self, request):
        if isinstance(request, OAuth2Request):
            return request
        return super().create_oauth2_request(request)


class _OnlyCode(UnsupportedResponseTypeError):
    description = "Only response_type=code is supported (the authorization code flow with PKCE)."

    def get_error_description(self):
        return self.description


def _missing(name: str, request) -> str:
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type not in ("", "application/x-www-form-urlencoded"):
        # A JSON body, say: its parameters were never read (RFC 6749 §3.2, RFC 9126 §2.1).
        return f"Missing '{name}' parameter: send the parameters as application/x-www-form-urlencoded."
    return f"Missing '{name}' parameter."


class Issuer(IssuerParameter):
    def __init__(self, issuer: str):
        self.issuer = issuer

    def get_issuer(self) -> str:
        return self.issuer


def build(app, keystore: KeyStore) -> Server:
    issuer = app.config["IDP_ISSUER"]
    server = Server(issuer, keystore)
    clients = app.extensions["idp.clients"] = ClientCache(app.config["IDP_CLIENT_CACHE_SECONDS"])
    server.init_app(app, query_client=clients.find, save_token=tokens.save)
    server.register_client_auth_method(PrivateKeyJWT.CLIENT_AUTH_METHOD,
                                       PrivateKeyJWT(issuer, ClientJwks(app.config), app.config))
    app.extensions["idp.revoked_ids"] = RevokedIds()
    server.scopes_supported = SCOPES
    server.token_generator = tokens.TokenGenerator(keystore, issuer, app.config["IDP_ACCESS_TOKEN_TTL"])
    server.register_token_generator("default", server.token_generator)
    server.register_grant(AuthorizationCodeGrant, [OpenIDConnect(keystore, issuer), PKCE(required=True), DPoPBinding(),
                                                   RevocationLock()])
    server.register_grant(RefreshTokenGrant, [DPoPBinding(), RevocationLock()])
    server.register_grant(ClientCredentialsGrant, [DPoPBinding()])
    server.register_extension(Issuer(issuer))
    server.register_endpoint(RevocationEndpoint)
    server.register_endpoint(IntrospectionEndpoint)
    server.register_endpoint(UserInfoEndpoint(resource_protector=resource_protector))
    server.register_endpoint(EndSessionEndpoint)
    return server
