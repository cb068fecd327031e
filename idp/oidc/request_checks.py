"""Checks of an authorization request's own parameters, which need no person: run by
/authorize on every request and by /par before it keeps one (RFC 9126 §2.1). The first
(single_valued) holds for every request to an endpoint: /token, /revoke, /introspect and
/logout run it too.

Authlib checks the client, the exact redirect_uri, response_type, scope and PKCE
(server.py); these are the rest. `redirect_uri` is where an error may be sent, None
before the client's redirect_uri is known to be registered (and always at /par, which
answers in JSON).
"""
from __future__ import annotations

import re

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oidc.core.errors import RequestNotSupportedError, RequestURINotSupportedError

from ..services import redirect_uris

# Longest accepted value per parameter; anything longer is a malformed request.
# An ID token Tunnus issued comes back whole as id_token_hint (OIDC Core §3.1.2.1): one with
# a person's organisations passed 2048 characters; its signature bounds it anyway.
MAX_LENGTH = {"nonce": 500, "scope": 500, "login_hint": 320, "redirect_uri": 2000, "client_id": 64,
              "id_token_hint": 8192}
DEFAULT_MAX_LENGTH = 2048
# A parameter name that may be quoted back in an error_description.
NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# What an error_description may hold (RFC 6749 §5.2): a value quoted in one must be this.
ERROR_TEXT = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")


def given(values) -> dict:
    """The parameters sent with a value: "sent without a value MUST be treated as if they
    were omitted" (RFC 6749 §3.1). Before, max_age=, claims= or request= was refused."""
    return {key: value for key, value in values.items() if value != ""}


def single_valued(values) -> None:
    """RFC 6749 §3.1, §3.2: a parameter MUST NOT be included more than once; taking the
    first of two (or the query's over the body's) would decide on what the sender did not
    mean. `values`: a MultiDict of what the endpoint reads."""
    for key in values:
        if len(values.getlist(key)) > 1:
            raise InvalidRequestError(f"{_parameter(key)} is repeated.")


def lengths(params: dict, keys, redirect_uri: str | None) -> None:
    for key in keys:
        if len(params.get(key) or "") > MAX_LENGTH.get(key, DEFAULT_MAX_LENGTH):
            raise InvalidRequestError(f"{_parameter(key)} is too long.", redirect_uri=redirect_uri)


def _parameter(key: str) -> str:
    # Any name the sender made up may come here, and an error_description allows printable
    # ASCII only (RFC 6749 §5.2): an odd one is not quoted back.
    return f"Parameter '{key}'" if NAME.fullmatch(key) else "A parameter"


def printable(params: dict, keys) -> None:
    # No URI or client id holds a control character, and an error description quoting one
    # could not be written at all (RFC 6749 §5.2 allows printable ASCII only).
    for key in keys:
        if any(ord(c) < 32 or ord(c) == 127 for c in params.get(key) or ""):
            raise InvalidRequestError(f"Parameter '{key}' holds a control character.")
    # Nor does a registered redirect URI hold a space, a quote, a backslash or a letter beyond
    # ASCII (redirect_uris.URI_TEXT): one that does matches none, and Authlib's refusal
    # quoting it failed to be made (a 500).
    if params.get("redirect_uri") and not redirect_uris.URI_TEXT.fullmatch(params["redirect_uri"]):
        raise InvalidRequestError("Parameter 'redirect_uri' holds a character no URI holds: percent-encode it.")


def supported(params: dict, redirect_uri: str | None) -> None:
    # Discovery says neither is supported; ignoring one would drop the parameters it
    # carries (OIDC Core 1.0 §6.1, §6.2). A pushed request's request_uri never gets here.
    if "request" in params:
        raise RequestNotSupportedError(redirect_uri=redirect_uri)
    if "request_uri" in params:
        raise RequestURINotSupportedError(redirect_uri=redirect_uri)
    # A client asking for fragment or form_post would look for the code where it is not.
    if params.get("response_mode", "query") != "query":
        raise InvalidRequestError("Only response_mode=query is supported.", redirect_uri=redirect_uri)


def prompts(params: dict, redirect_uri: str | None) -> set:
    """The prompt values; `none` asks for no page at all, so it stands alone (OIDC Core §3.1.2.1)."""
    values = set(params.get("prompt", "").split())
    if "none" in values and len(values) > 1:
        raise InvalidRequestError("Invalid 'prompt' parameter.", redirect_uri=redirect_uri)
    return values


def max_age(params: dict, redirect_uri: str | None) -> int | None:
    if params.get("max_age") is None:
        return None
    try:
        seconds = int(params["max_age"])
        if seconds < 0:
            raise ValueError
    except ValueError:
        raise InvalidRequestError("'max_age' must be a non-negative integer.", redirect_uri=redirect_uri)
    return seconds
