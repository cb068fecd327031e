"""Scope -> claims (OIDC Core §5.4) for ID tokens and /userinfo."""
from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list
from authlib.oidc.core import UserInfo

from ..services import clock

SCOPE_CLAIMS = {
    "profile": ("name", "locale", "updated_at"),
    "email": ("email", "email_verified"),
}


def for_scope(identity, scope: str) -> UserInfo:
    scopes = set(scope_to_list(scope) or [])
    claims = {"sub": identity.sub}
    if "profile" in scopes:
        claims["name"] = identity.name
        if identity.locale:
            claims["locale"] = identity.locale
        claims["updated_at"] = clock.to_timestamp(identity.updated_at)
    if "email" in scopes:
        claims["email"] = identity.email
        claims["email_verified"] = bool(identity.email_verified)
    return UserInfo(claims)


def supported() -> list[str]:
    names = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash", "org", "orgs"]
    for scope_claims in SCOPE_CLAIMS.values():
        names.extend(scope_claims)
    return names
