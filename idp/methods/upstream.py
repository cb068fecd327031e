"""Identification through an upstream OpenID provider (a bank ID): Tunnus is its relying party.

OpenID Connect Core 1.0 §3.1 (authorization code flow) with PKCE S256 (RFC 7636), a
state bound to the browser's flow and a nonce (§3.1.2.1); the ID token is checked as
§3.1.3.7 asks: signed by a key of the provider's JWKS, iss, aud (and azp), exp, iat and
the nonce. The authorization response's `iss` (RFC 9207) must name the provider, against
mix-up. Discovery (OIDC Discovery 1.0 §4) and the JWKS come over HTTP through Authlib's
requests client and are cached in the process; a key id not seen before fetches the
JWKS again at once (the provider rotated its keys).
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from authlib.integrations.base_client import OAuthError
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata
from flask import current_app
from flask_babel import lazy_gettext as _l
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.jwk import KeySet

from ..errors import IdpError
from ..services import clock, identities, malformed_jose, names, strict_json, upstreams

# requests (with Authlib's client on it) weighs 4 MB per worker; only a call to a provider needs it.
if TYPE_CHECKING:
    from authlib.integrations.requests_client import OAuth2Session

SCOPE = "openid profile email"
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")
# OIDC Core §2: "It MUST NOT exceed 255 ASCII characters in length"; printable ones, as
# a NUL or half a character in it was stored in flows and failed other people's requests.
SUBJECT = re.compile(r"[\x20-\x7e]{1,255}")
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


def _client(provider, redirect_uri: str | None = None, found: dict | None = None) -> OAuth2Session:
    from authlib.integrations.requests_client import OAuth2Session

    # HTTP Basic unless the provider accepts only the secret in the body (Core §9).
    methods = (found or {}).get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    auth = "client_secret_basic" if "client_secret_basic" in methods else "client_secret_post"
    return OAuth2Session(provider.client_id, upstreams.client_secret(provider), scope=SCOPE,
                         redirect_uri=redirect_uri, code_challenge_method="S256", token_endpoint_auth_method=auth,
                         default_timeout=current_app.config["IDP_UPSTREAM_TIMEOUT"])


def _cached(key: tuple, fetch, refresh: bool = False):
    cache = current_app.extensions.setdefault("idp.upstream_cache", {})
    found = cache.get(key)
    if refresh or found is None or found[0] < time.monotonic():
        found = (time.monotonic() + current_app.config["IDP_UPSTREAM_CACHE_TTL"], fetch())
        cache[key] = found
    return found[1]


def _get_json(provider, url: str) -> dict:
    import requests

    try:
        with _client(provider) as http:
            response = http.get(url, headers={"Accept": "application/json"}, withhold_token=True)
        response.raise_for_status()
    except requests.RequestException as error:
        raise UpstreamUnavailable(f"fetch_failed: {url}") from error
    try:
        found = strict_json.loads(response.content)
    except ValueError as error:
        raise UpstreamRefused(f"not_json: {url}") from error
    if not isinstance(found, dict):
        raise UpstreamRefused(f"not_json_object: {url}")
    return found


def metadata(provider, refresh: bool = False) -> OpenIDProviderMetadata:
    def fetch():
        found = OpenIDProviderMetadata(_get_json(provider, provider.issuer.rstrip("/")
                                                 + "/.well-known/openid-configuration"))
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
        return _cached(("jwks", uri), lambda: KeySet.import_key_set(_get_json(provider, uri)), refresh)
    except (*malformed_jose.ERRORS, AttributeError) as error:
        raise UpstreamRefused("bad_jwks") from error


def authorization_url(provider, *, state: str, nonce: str, code_verifier: str, redirect_uri: str,
                      ui_locales: str) -> str:
    with _client(provider, redirect_uri) as client:
        url, _ = client.create_authorization_url(metadata(provider)["authorization_endpoint"], state=state,
                                                 code_verifier=code_verifier, nonce=nonce, prompt="login",
                                                 ui_locales=ui_locales)
    return url


def identify(provider, response: dict, *, nonce: str, code_verifier: str, redirect_uri: str) -> Identified:
    """Redeem the code of the authorization response and check the ID token it brings."""
    import requests

    if response.get("error"):
        if response["error"] == "access_denied":
            raise UpstreamCancelled("cancelled")
        raise UpstreamRefused(f"error: {response['error'][:50]}")
    found = metadata(provider)
    iss = response.get("iss")
    if iss != provider.issuer and (iss is not None or found.get("authorization_response_iss_parameter_supported")):
        raise UpstreamRefused("response_issuer_mismatch")
    if not response.get("code"):
        raise UpstreamRefused("no_code")
    try:
        with _client(provider, redirect_uri, found) as client:
            token = client.fetch_token(found["token_endpoint"], grant_type="authorization_code",
                                       code=response["code"], code_verifier=code_verifier)
    except requests.RequestException as error:
        raise UpstreamUnavailable("token_endpoint_unreachable") from error
    except (OAuthError, ValueError, TypeError, OverflowError, RecursionError) as error:
        # an expires_in that is no number, JSON nested beyond what Python reads...
        raise UpstreamRefused(f"token_error: {str(error)[:100]}") from error
    if not isinstance(token.get("id_token"), str):
        raise UpstreamRefused("no_id_token")
    claims = _checked_id_token(provider, token["id_token"], nonce=nonce, access_token=token.get("access_token"))
    name = claims.get("name") or " ".join(part for part in (claims.get("given_name"), claims.get("family_name"))
                                          if isinstance(part, str) and part)
    name = names.one_line(name)[:200] if isinstance(name, str) else ""
    if not name:
        raise UpstreamRefused("no_name")
    email = claims.get("email")
    email = email.strip() if isinstance(email, str) and identities.valid_email(email) else None  # else as good as none
    return Identified(subject=claims["sub"], name=name, email=email,
                      email_verified=email is not None and claims.get("email_verified") is True)


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
