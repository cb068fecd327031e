"""id_token_hint on the authorization request (OIDC Core 1.0 §3.1.2.1): an ID token
Tunnus issued, naming the person the relying service expects to be signed in.

Only the signature, the token type and the issuer are checked: the hint is a token the
relying service has already used, so an expired one still names the person (§3.1.2.1
lets the OP accept it). Access and logout tokens, signed by the same keys, carry another
`typ` and are no hint.
"""
from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidRequestError
from joserfc import jwt

from ..services import malformed_jose
from ..services.keys import ALGORITHMS


def subject(hint: str | None, keystore, issuer: str, redirect_uri: str) -> str | None:
    """The `sub` the hint names; None without a hint. Refuses a hint Tunnus did not issue."""
    if not hint:
        return None
    try:
        token = jwt.decode(hint, keystore.hint_keys(), algorithms=list(ALGORITHMS))
    except malformed_jose.ERRORS:
        token = None
    if (token is None or token.header.get("typ") != "JWT" or token.claims.get("iss") != issuer
            or not isinstance(token.claims.get("sub"), str)):
        raise InvalidRequestError("'id_token_hint' is not an ID token this provider issued.",
                                  redirect_uri=redirect_uri)
    return token.claims["sub"]
