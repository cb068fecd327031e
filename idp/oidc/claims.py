"""Scope -> claims (OIDC Core §5.4) for ID tokens and /userinfo."""
from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list
from authlib.oidc.core import UserInfo

from ..extensions import db
from ..methods.levels import ACR_STRONG
from ..models import LegacyAccount
from ..services import clock

SCOPE_CLAIMS = {
    "profile": ("name", "locale", "updated_at"),
    "email": ("email", "email_verified"),
}


def for_scope(identity, scope: str, client=None, acr: str | None = None) -> UserInfo:
    """`acr` is the level of the login the claims are issued for: a strongly identified one
    names the person as the upstream provider verified them, not as their profile says."""
    scopes = set(scope_to_list(scope) or [])
    claims = {"sub": identity.sub}
    if client is not None and client.legacy_system:
        # Only the service that inherited an old system sees its ids, to find its history.
        legacy_ids = _legacy_ids(identity, client.legacy_system)
        if legacy_ids:
            claims["legacy_ids"] = legacy_ids
    if "profile" in scopes:
        claims["name"] = identity.verified_name if acr == ACR_STRONG and identity.verified_name else identity.name
        if identity.locale:
            claims["locale"] = identity.locale
        claims["updated_at"] = clock.to_timestamp(identity.updated_at)
    if "email" in scopes:
        claims["email"] = identity.email
        claims["email_verified"] = bool(identity.email_verified)
    return UserInfo(claims)


def _legacy_ids(identity, system: str) -> list[str]:
    return list(db.session.execute(
        db.select(LegacyAccount.legacy_id).filter_by(identity_id=identity.id, system=system)
        .order_by(LegacyAccount.legacy_id)).scalars())


def supported() -> list[str]:
    names = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash", "org", "orgs",
             "legacy_ids"]
    for scope_claims in SCOPE_CLAIMS.values():
        names.extend(scope_claims)
    return names
