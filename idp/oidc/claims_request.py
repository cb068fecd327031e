"""The `claims` request parameter, OIDC Core 1.0 §5.5: its shape, and what its
`value`, `values` and a `sub` with a value mean (§5.5.1).

The parameter is a JSON object whose `id_token` and `userinfo` members (both optional,
other members ignored) name claims, each null (asked for as usual) or an object with
`essential` (a boolean), `value` or `values` (an array). Anything else is refused as
invalid_request, redirected to the client. Which of the named claims Tunnus gives, and
to whom, is claims.py's to decide; the `acr` member, acr.py's.
"""
from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidRequestError

from ..services import strict_json

PLACES = ("id_token", "userinfo")


def parse(raw: str | None, redirect_uri: str | None) -> dict:
    """{place: {claim: null or its object}} for the places asked for; {} without the parameter."""
    if raw is None:
        return {}
    try:
        request = strict_json.loads(raw)
    except ValueError:
        request = None
    if not isinstance(request, dict) or not all(_well_formed(request.get(place, {})) for place in PLACES):
        raise malformed(redirect_uri)
    return {place: request[place] for place in PLACES if place in request}


def _well_formed(member) -> bool:
    return isinstance(member, dict) and all(
        spec is None or (isinstance(spec, dict) and isinstance(spec.get("essential", False), bool)
                         and isinstance(spec.get("values", []), list))
        for spec in member.values())


def malformed(redirect_uri: str | None) -> InvalidRequestError:
    # error_description allows printable ASCII only (RFC 6749 §5.2): no section sign here.
    return InvalidRequestError("'claims' must be a JSON object as in OpenID Connect Core section 5.5.",
                               redirect_uri=redirect_uri)


def matches(spec: dict | None, value) -> bool:
    """Has the person's `value` what the request asked for? A claim asked for with a
    `value` or `values` is a question about that value: given another, the relying
    service would have to notice it is not the one it asked for, so it is not given."""
    if not spec:
        return True
    if "value" in spec:
        return value == spec["value"]
    return "values" not in spec or value in spec["values"]


def subjects(request: dict) -> set:
    """The `sub` values the request names: §5.5.1 allows a positive answer only for that
    person, signed in already or as a result of this request. Tunnus holds the userinfo
    member to it too, as its answer is just as much about the person."""
    named = set()
    for member in request.values():
        spec = member.get("sub")
        if isinstance(spec, dict) and "value" in spec:
            # A value that is no string names nobody, so no one signed in may answer it.
            named.add(spec["value"] if isinstance(spec["value"], str) else "")
    return named
