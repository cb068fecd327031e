"""Identification through an upstream OpenID provider (a bank ID): Tunnus is its relying party.

OpenID Connect Core 1.0 §3.1 (authorization code flow) with PKCE S256 (RFC 7636), a
state bound to the browser's flow and a nonce (§3.1.2.1); the ID token is checked as
§3.1.3.7 asks: signed by a key of the provider's JWKS, iss, aud (and azp), exp, iat and
the nonce. The authorization response's `iss` (RFC 9207) must name the provider, against
mix-up. Discovery (OIDC Discovery 1.0 §4) and the JWKS come over HTTP through Authlib's
client and are cached in the process; a key id not seen before fetches the JWKS again at
once (the provider rotated its keys).

Every request to the provider (discovery, JWKS, token) is services/outbound_http's: the
whole exchange within IDP_UPSTREAM_TIMEOUT (a provider answering a byte a second held a
person's request, and its database connection, for as long as it went on), an answer of
at most MAX_BYTES (a 300 MB "discovery document" was read whole, a 200 kB gzip one
inflated to 400 MB) and no redirect followed: the token request, with the client secret,
was sent again wherever the token endpoint redirected.
"""
from __future__ import annotations

import base64
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote_plus, urlencode

from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata
from flask import current_app
from flask_babel import lazy_gettext as _l
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.jwk import KeySet

from ..errors import IdpError
from ..services import clock, identities, malformed_jose, names, outbound_http, strict_json, upstreams

# requests (with Authlib's client on it) weighs 4 MB per worker; only the authorization URL needs it.
if TYPE_CHECKING:
    from authlib.integrations.requests_client import OAuth2Session

SCOPE = "openid profile email"
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")
# OIDC Core §2: "It MUST NOT exceed 255 ASCII characters in length"; printable ones, as
# a NUL or half a character in it was stored in flows and failed other people's requests.
SUBJECT = re.compile(r"[\x20-\x7e]{1,255}")
MAX_BYTES = 256 * 1024  # a discovery document, a JWK Set or a token response is a few kB
HEADERS = {"Accept": "application/json", "User-Agent": "Tunnus"}
# Asymmetric algorithms only: "none" and HMAC (keyed with our client secret) never pass.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


class UpstreamRefused(IdpError):
    """The provider's answer was refused; `reason` is for the audit log, never for people."""
    id = "upstream_refused"
    message = _l("The identification could not be completed. Start again.")
    status = 400

    def __init__(self, reason: str, message=None):
        super().__init__(message)
        self.reason = reason


class UpstreamCancelled(UpstreamRefused):
    message = _l("The identification was cancelled.")


class UpstreamUnavailable(UpstreamRefused):
    message = _l("The identification service is not answering. Try again in a moment.")
    status = 502


@dataclass(frozen=True)
class Identified:
    """Who the provider says the person is."""
    subject: str
    name: str
    email: str | None
    email_verified: bool


def _client(provider, redirect_uri: str) -> OAuth2Session:
    from authlib.integrations.requests_client import OAuth2Session

    return OAuth2Session(provider.client_id, scope=SCOPE, redirect_uri=redirect_uri, code_challenge_method="S256")


def _cached(key: tuple, fetch, refresh: bool = False):
    cache = current_app.extensions.setdefault("idp.upstream_cache", {})
    found = cache.get(key)
    if refresh or found is None or found[0] < time.monotonic():
        found = (time.monotonic() + current_app.config["IDP_UPSTREAM_CACHE_TTL"], fetch())
        cache[key] = found
    return found[1]


def _get_json(url: str) -> dict:
    try:
        return _json_object(_exchange(urllib.request.Request(url, headers=HEADERS)))
    except (urllib.error.URLError, *outbound_http.ERRORS) as error:
        raise UpstreamUnavailable(f"fetch_failed: {url}") from error
    except ValueError as error:
        raise UpstreamRefused(f"not_json_object: {url} {error}"[:200]) from error


def _exchange(request: urllib.request.Request) -> bytes:
    """The answer's body; HTTPError for a status other than 2xx (a redirect among them),
    ValueError for one longer than MAX_BYTES."""
    timeout = current_app.config["IDP_UPSTREAM_TIMEOUT"]
    with outbound_http.opener(timeout).open(request, timeout=timeout) as response:
        body = response.read(MAX_BYTES + 1)
    if len(body) > MAX_BYTES:
        raise ValueError(f"longer than {MAX_BYTES} bytes")
    return body


def _json_object(body: bytes) -> dict:
    found = strict_json.loads(body)
    if not isinstance(found, dict):
        raise ValueError("not a JSON object")
    return found


def metadata(provider, refresh: bool = False) -> OpenIDProviderMetadata:
    def fetch():
        found = OpenIDProviderMetadata(_get_json(provider.issuer.rstrip("/") + "/.well-known/openid-configuration"))
        # Authlib's checks assume each value has its type: another type fails them any way.
        try:
            found.validate()
        except (ValueError, TypeError, AttributeError, KeyError) as error:
            raise UpstreamRefused(f"bad_discovery: {error}"[:200]) from error
        methods = found.get("token_endpoint_auth_methods_supported")
        if not all(isinstance(found.get(name), str) for name in ENDPOINTS) or \
                not (methods is None or isinstance(methods, list)):
            raise UpstreamRefused("bad_discovery: an endpoint that is no URL")
        if found["issuer"] != provider.issuer:  # Discovery §4.3
            raise UpstreamRefused("discovery_issuer_mismatch")
        return found

    return _cached(("metadata", provider.issuer), fetch, refresh)


def _keys(provider, refresh: bool = False) -> KeySet:
    uri = metadata(provider)["jwks_uri"]
    try:
        return _cached(("jwks", uri), lambda: KeySet.import_key_set(_get_json(uri)), refresh)
    except (*malformed_jose.ERRORS, AttributeError) as error:
        raise UpstreamRefused("bad_jwks") from error


def authorization_url(provider, *, state: str, nonce: str, code_verifier: str, redirect_uri: str,
                      ui_locales: str) -> str:
    with _client(provider, redirect_uri) as client:  # no request: the URL is only written
        url, _ = client.create_authorization_url(metadata(provider)["authorization_endpoint"], state=state,
                                                 code_verifier=code_verifier, nonce=nonce, prompt="login",
                                                 ui_locales=ui_locales)
    return url


def identify(provider, response: dict, *, nonce: str, code_verifier: str, redirect_uri: str) -> Identified:
    """Redeem the code of the authorization response and check the ID token it brings."""
    if response.get("error"):
        if response["error"] == "access_denied":
            raise UpstreamCancelled("cancelled")
        # The provider is down or busy (RFC 6749 §4.1.2.1): "try again in a moment", not "start again".
        unavailable = response["error"] in ("temporarily_unavailable", "server_error")
        raise (UpstreamUnavailable if unavailable else UpstreamRefused)(f"error: {_printable(response['error'])}")
    found = metadata(provider)
    iss = response.get("iss")
    if iss != provider.issuer and (iss is not None or found.get("authorization_response_iss_parameter_supported")):
        raise UpstreamRefused("response_issuer_mismatch")
    if not response.get("code"):
        raise UpstreamRefused("no_code")
    token = _redeemed(provider, found, {"grant_type": "authorization_code", "code": response["code"],
                                        "redirect_uri": redirect_uri, "code_verifier": code_verifier})
    claims = _checked_id_token(provider, token["id_token"], nonce=nonce, access_token=token["access_token"])
    name = claims.get("name") or " ".join(part for part in (claims.get("given_name"), claims.get("family_name"))
                                          if isinstance(part, str) and part)
    name = names.one_line(name)[:200] if isinstance(name, str) else ""
    if not name:
        raise UpstreamRefused("no_name")
    email = claims.get("email")
    email = email.strip() if isinstance(email, str) and identities.valid_email(email) else None  # else as good as none
    return Identified(subject=claims["sub"], name=name, email=email,
                      email_verified=email is not None and claims.get("email_verified") is True)


def _redeemed(provider, found: dict, form: dict) -> dict:
    """The token response (RFC 6749 §5.1) to the code. The client
    authenticates with HTTP Basic unless the provider accepts only the secret in the body
    (Core §9); in Basic, both are form-encoded first (RFC 6749 §2.3.1)."""
    client_id, secret = provider.client_id, upstreams.client_secret(provider)
    headers = {**HEADERS, "Content-Type": "application/x-www-form-urlencoded"}
    if "client_secret_basic" in (found.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]):
        pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    else:
        form = {**form, "client_id": client_id, "client_secret": secret}
    request = urllib.request.Request(found["token_endpoint"], data=urlencode(form).encode(), headers=headers)
    try:
        token = _json_object(_exchange(request))
    except urllib.error.HTTPError as error:
        if error.code not in (400, 401):  # §5.2's errors; anything else is the provider failing
            raise UpstreamUnavailable(f"token_endpoint_answered {error.code}") from error
        raise UpstreamRefused(f"token_error: {_error_code(error)}") from error
    except (urllib.error.URLError, *outbound_http.ERRORS) as error:
        raise UpstreamUnavailable("token_endpoint_unreachable") from error
    except ValueError as error:
        raise UpstreamRefused(f"token_error: {error}"[:200]) from error
    # expires_in is not looked at: the access token is not used (some providers write it as a string).
    if not isinstance(token.get("access_token"), str) or not isinstance(token.get("token_type"), str):
        raise UpstreamRefused("token_error: no access_token or token_type (RFC 6749 §5.1)")
    if not isinstance(token.get("id_token"), str):
        raise UpstreamRefused("no_id_token")
    return token


def _printable(code: str) -> str:
    """An error code as the audit log keeps it: printable ASCII (§4.1.2.1), 50 at most.
    Before, the authorization response's went in as sent, control characters included."""
    return "".join(c if c.isascii() and c.isprintable() else "?" for c in code[:50])


def _error_code(error: urllib.error.HTTPError) -> str:
    """The `error` of the provider's answer, for the audit log: printable ASCII (§5.2) only."""
    try:
        code = _json_object(error.read(MAX_BYTES)).get("error")
    except (ValueError, *outbound_http.ERRORS):
        code = None
    return code[:50] if isinstance(code, str) and code.isascii() and code.isprintable() else f"HTTP {error.code}"


def _checked_id_token(provider, id_token: str, *, nonce: str, access_token: str | None) -> dict:
    try:
        try:
            token = jwt.decode(id_token, _keys(provider), algorithms=ALGORITHMS)
        except InvalidKeyIdError:
            token = jwt.decode(id_token, _keys(provider, refresh=True), algorithms=ALGORITHMS)
        claims = CodeIDToken(token.claims, token.header,
                             options={"iss": {"essential": True, "value": provider.issuer},
                                      "aud": {"essential": True, "value": provider.client_id},
                                      "sub": {"essential": True}},
                             params={"nonce": nonce, "client_id": provider.client_id, "access_token": access_token})
        claims.validate(now=clock.timestamp(), leeway=current_app.config["IDP_UPSTREAM_LEEWAY"])
    # A malformed token may fail before any check, and a claim of another type than its
    # own (at_hash a list, crit a number) in Authlib's or joserfc's checks.
    except (*malformed_jose.ERRORS, AttributeError, RecursionError) as error:
        raise UpstreamRefused(f"id_token {error}"[:200]) from error
    sub = claims.get("sub")
    if not isinstance(sub, str) or not SUBJECT.fullmatch(sub):
        raise UpstreamRefused("id_token_bad_sub")
    return dict(claims)
