"""UserInfo endpoint, OIDC Core §5.3: GET or POST with a Bearer access token (RFC 6750),
in the Authorization header or, on a POST, in the form body (§2.2); never in the query,
which proxies and logs keep (RFC 9700 §4.3.2). A token bound to a DPoP key comes with
the DPoP scheme and a proof made for this request (RFC 9449 §7), and only so: as Bearer
it is refused (§7.2), as is an unbound token sent as DPoP. Refusals follow RFC 6750 §3:
without a token only the challenges, no error code; a token without `openid` is 403
insufficient_scope naming the scope needed. The challenge of the scheme the token came
with carries the error, and the other scheme is offered beside it (RFC 9449 §7.1)."""
from __future__ import annotations

from authlib.consts import default_json_headers
from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6750 import BearerTokenValidator, InsufficientScopeError, InvalidTokenError
from authlib.oidc.core import UserInfoEndpoint as _UserInfoEndpoint
from flask import Blueprint, current_app, request as http_request

from ...extensions import db
from ...models import Token
from ...services import audit, kiosk_sessions
from ...web.browser import origin
from .. import claims, dpop, request_checks

bp = Blueprint("oidc_userinfo", __name__)


# RFC 9449 §7.1: the algorithms a proof may use, in every DPoP challenge.
ALGS = f'algs="{" ".join(dpop.ALGORITHMS)}"'
DPOP_CHALLENGE = f"DPoP {ALGS}"


class AccessTokenValidator(BearerTokenValidator):
    """A person's access token sent as a Bearer token: not one bound to a DPoP key."""

    def authenticate_token(self, token_string):
        if not token_string or len(token_string) > 4096:
            return None
        proven = self.proven_key(token_string)
        token = Token.by_access_token(token_string)
        # Tokens a client got for itself (client credentials) name no person.
        if token is None or token.identity is None:
            return None
        if token.dpop_jkt != proven:
            if token.dpop_jkt is not None:
                _record_without_its_key(token)
            raise InvalidTokenError(_binding_refused(token.dpop_jkt, proven))
        return token

    def proven_key(self, token_string) -> str | None:
        return None

    def validate_token(self, token, scopes, request):
        try:
            super().validate_token(token, scopes, request)
        except InsufficientScopeError:
            raise ScopeNeeded(scopes) from None
        # A kiosk's token ends with its session, even one that ended by going idle.
        if not kiosk_sessions.token_usable(token):
            raise InvalidTokenError(realm=self.realm, extra_attributes=self.extra_attributes)


class DpopTokenValidator(AccessTokenValidator):
    """A person's access token sent with the DPoP scheme and a DPoP proof (RFC 9449 §7.1)."""

    TOKEN_TYPE = "dpop"

    def proven_key(self, token_string) -> str:
        url = f"{current_app.config['IDP_ISSUER']}/userinfo"
        try:
            proof = dpop.presented(http_request.headers, http_request.method, url, access_token=token_string)
        except dpop.InvalidDpopProof as refused:
            raise DpopProofRefused(refused.description) from None
        if proof is None:
            raise DpopProofRefused("Send a DPoP proof with a token sent with the DPoP scheme.")
        return proof.jkt


def _record_without_its_key(token) -> None:
    # A bound token shown without its key is what a stolen one looks like (RFC 9449 §1):
    # the same record as a code or refresh token presented so at /token.
    audit.record("token.dpop_key_mismatch", "failure", origin=origin(), identity=token.identity_id,
                 client_id=token.client.client_id, bound="access token")
    db.session.commit()


def _binding_refused(bound: str | None, proven: str | None) -> str:
    if proven is None:
        return "The token is bound to a DPoP key: send it with the DPoP scheme and a DPoP proof."
    if bound is None:
        return "The token is not bound to a DPoP key: send it as a Bearer token."
    return "The DPoP proof is not made with the key the token is bound to."


class DpopProofRefused(InvalidTokenError):
    error = "invalid_dpop_proof"


class NoToken(OAuth2Error):
    """No token at all (none, or another scheme): the challenges alone."""
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
            # As at every other endpoint: before, the first of two tokens was taken.
            request_checks.single_valued(http_request.form)
            return self.get_token_validator("bearer"), http_request.form["access_token"]
        scheme, token = _scheme(), (header or "").partition(" ")[2].strip()
        if scheme not in ("bearer", "dpop") or not token:
            raise NoToken()
        return self.get_token_validator(scheme), token


def _scheme() -> str:
    return (http_request.headers.get("Authorization") or "").partition(" ")[0].lower()


def _challenges(headers: list) -> list:
    """The error's challenge in the scheme the token came with; beside a Bearer one, the
    DPoP challenge (RFC 9449 §7.2)."""
    if _scheme() == "dpop":
        return [(name, _in_dpop_scheme(value) if name == "WWW-Authenticate" else value) for name, value in headers]
    if any(name == "WWW-Authenticate" for name, _ in headers):
        return [*headers, ("WWW-Authenticate", DPOP_CHALLENGE)]
    return headers


def _in_dpop_scheme(bearer_challenge: str) -> str:
    """'Bearer error="...", ...' as 'DPoP error="...", ..., algs="..."'."""
    params = bearer_challenge.removeprefix("Bearer").strip()
    return f"DPoP {params}, {ALGS}" if params else DPOP_CHALLENGE


resource_protector = UserInfoProtector()
resource_protector.register_token_validator(AccessTokenValidator())
resource_protector.register_token_validator(DpopTokenValidator())


class UserInfoEndpoint(_UserInfoEndpoint):
    def __call__(self, request):
        try:
            token = self.resource_protector.acquire_token("openid")
        except OAuth2Error as error:
            status, body, headers = error()
            return status, body, _challenges(headers)
        # Authlib's version knows only the user; the claims depend on the token (its client,
        # organisation, level and the claims requested for userinfo).
        return 200, claims.for_grant(token, token.userinfo_claims), default_json_headers


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo():
    return current_app.extensions["idp.server"].create_endpoint_response(UserInfoEndpoint.ENDPOINT_NAME)
