"""Authentication levels a relying service demands: OIDC Core 1.0 §3.1.2.1 (acr_values)
and §5.5.1.1 (an essential `acr` in the `claims` request parameter).

Tunnus treats both as demands: the session must reach one of the named levels, a
higher level satisfying a lower one (strong satisfies MFA, MFA satisfies password,
password satisfies PIN). The authorization endpoint steps the session up with the second
factor, or for the strong level through an upstream provider, when it can, and otherwise
answers access_denied (a failed authentication, as §5.5.1.1 requires). A kiosk's PIN
session is never stepped up.

The ID token names the session's level, except for an essential `acr` with values: there
§5.5.1.1 requires one of those values, so it names the highest of them the session meets
(a voluntary request may still get the higher level the session has).
"""
from __future__ import annotations

from ..methods import levels
from . import claims_request

# Listed in discovery as acr_values_supported, lowest first.
SUPPORTED = [levels.ACR_PIN, levels.ACR_PASSWORD, levels.ACR_MULTI_FACTOR, levels.ACR_STRONG]
RANK = {value: rank for rank, value in enumerate(SUPPORTED, start=1)}


def demanded(params: dict, redirect_uri: str | None) -> list[str]:
    """The levels asked for, in the client's order of preference; empty when none is.
    Values of `acr_values` Tunnus does not know are left out: they ask for a voluntary
    claim (§3.1.2.1), and the OpenID conformance suite sends made-up ones expecting
    success. An essential `acr` of unknown values alone cannot be met (§5.5.1.1)."""
    essential = _essential_from_claims(params.get("claims"), redirect_uri)
    return essential if essential else [value for value in (params.get("acr_values") or "").split() if value in RANK]


def met(session_acr: str | None, wanted: list[str]) -> bool:
    have = RANK.get(session_acr or "", 0)
    return not wanted or any(have >= RANK[value] for value in wanted if value in RANK)


def granted(session_acr: str | None, params: dict) -> str | None:
    """The level the ID token names for a session of `session_acr` that met the request."""
    essential = _essential_from_claims(params.get("claims"), None)
    have = RANK.get(session_acr or "", 0)
    covered = [value for value in essential if value in RANK and RANK[value] <= have]
    return max(covered, key=RANK.__getitem__) if covered else session_acr


def reachable(wanted: list[str]) -> bool:
    """Does Tunnus know at least one of the levels? Unknown ones can never be met."""
    return not wanted or any(value in RANK for value in wanted)


def lowest(wanted: list[str]) -> str | None:
    """The lowest known level among those demanded: the one a step-up must reach."""
    known = [value for value in wanted if value in RANK]
    return min(known, key=RANK.__getitem__) if known else None


def _essential_from_claims(raw: str | None, redirect_uri: str | None) -> list[str]:
    acr = claims_request.parse(raw, redirect_uri).get("id_token", {}).get("acr")
    if acr is None:  # null: asked for with default behaviour, not demanded
        return []
    values = acr.get("values", [acr["value"]] if "value" in acr else [])
    if not all(isinstance(value, str) for value in values):
        raise claims_request.malformed(redirect_uri)
    return values if acr.get("essential") is True else []
