"""The person's claims in ID tokens and at /userinfo: those a scope brings (OIDC Core 1.0
§5.4) and those a relying service asks for one by one in the `claims` request parameter
(§5.5.1, shape and semantics in claims_request.py).

Scope claims go to both places, as before. A claim asked for by name goes where it was
asked for (ID token, userinfo or both), on three conditions:
- Tunnus has it: a claim of a scope below (SCOPE_CLAIMS); others, and the protocol's own
  (`iss`, `auth_time`...), are ignored.
- The client is registered for the scope it belongs to (`clients.scope`): a request by
  name is no way around a scope the client may not have.
- The person allowed it. §5.5 puts claims asked for this way under the same
  authorization as scope claims. Restricting them to the granted scopes would keep
  consent honest but make the parameter useless for asking for less than a scope (one
  claim with `openid` alone, data minimisation). So a claim asked for beyond the
  requested scope is named on the consent page and recorded with the consent
  (`consents.claims`), as scopes are; what is already consented is not asked again,
  and a first-party client, never asked consent for scopes, is not asked for these.
A claim asked for with `value` or `values` comes by that request only when the person's
value is one of them. An essential claim that cannot be given is left out, never an
error (§5.5.1); `acr` is the exception, handled in acr.py.

The code keeps the granted request (`authorization_codes.claims_request`), the tokens its
`userinfo` member (`tokens.userinfo_claims`), copied to each refreshed token.
"""
from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list

from ..extensions import db
from ..methods.levels import ACR_STRONG
from ..models import LegacyAccount
from ..services import clock
from . import claims_request, org_claims

SCOPE_CLAIMS = {
    "profile": ("name", "locale", "updated_at"),
    "email": ("email", "email_verified"),
    org_claims.SCOPE: ("org", "orgs"),
}


def by_scope(scope: str | None) -> set[str]:
    return {name for value in scope_to_list(scope) or [] for name in SCOPE_CLAIMS.get(value, ())}


def granted(request: dict, client) -> dict:
    """The part of a parsed `claims` request Tunnus may give this client, per place."""
    allowed = by_scope(client.scope)
    return {place: {name: spec for name, spec in member.items() if name in allowed}
            for place, member in request.items()}


def beyond_scope(request: dict, scope: str | None) -> list[str]:
    """The claims asked for by name that `scope` does not bring: what consent must name."""
    return sorted({name for member in request.values() for name in member} - by_scope(scope))


def for_grant(grant, requested: dict | None) -> dict:
    """The claims one place (ID token or userinfo) carries for a code or a token: its
    scope's and those `requested` for the place that have the value asked for."""
    identity, requested = grant.identity, requested or {}
    scoped = by_scope(grant.scope)
    names = scoped | set(requested)
    values = {**_profile(identity, grant.acr, names),
              **org_claims.for_grant(identity, grant.client, grant.organisation_id, names)}
    result = {"sub": identity.sub}
    if grant.client.legacy_system:
        # Only the service that inherited an old system sees its ids, to find its history.
        legacy_ids = _legacy_ids(identity, grant.client.legacy_system)
        if legacy_ids:
            result["legacy_ids"] = legacy_ids
    result.update({name: value for name, value in values.items()
                   if name in scoped or claims_request.matches(requested[name], value)})
    return result


def _profile(identity, acr: str | None, names: set[str]) -> dict:
    """`acr` is the level of the login the claims are issued for: a strongly identified one
    names the person as the upstream provider verified them, not as their profile says."""
    values = {}
    name = identity.verified_name if acr == ACR_STRONG and identity.verified_name else identity.name
    if "name" in names and name:  # none rather than "" (OIDC Core §5.3.2)
        values["name"] = name
    if "locale" in names and identity.locale:
        values["locale"] = identity.locale
    if "updated_at" in names:
        values["updated_at"] = clock.to_timestamp(identity.updated_at)
    if "email" in names:
        values["email"] = identity.email
    if "email_verified" in names:
        values["email_verified"] = bool(identity.email_verified)
    return values


def _legacy_ids(identity, system: str) -> list[str]:
    return list(db.session.execute(
        db.select(LegacyAccount.legacy_id).filter_by(identity_id=identity.id, system=system)
        .order_by(LegacyAccount.legacy_id)).scalars())


def supported() -> list[str]:
    """Every claim an ID token or userinfo answer can carry (discovery's claims_supported)."""
    return ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash", "legacy_ids",
            *(name for names in SCOPE_CLAIMS.values() for name in names)]
