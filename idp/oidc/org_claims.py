"""The `organizations` scope: `org` (the organisation acted for) and `orgs` (every
organisation where the person may use this client), for ID token, userinfo, access
token and introspection alike."""
from __future__ import annotations

from authlib.oauth2.rfc6749 import scope_to_list

from ..extensions import db
from ..models import Organisation
from ..services import organisations

SCOPE = "organizations"


def _describe(organisation, identity) -> dict:
    member = organisations.membership(organisation, identity)
    return {"id": str(organisation.id), "name": organisation.name, "business_id": organisation.business_id,
            "roles": [member.role] if member else []}


def for_grant(identity, client, organisation_id: int | None, scope: str) -> dict:
    if identity is None or SCOPE not in (scope_to_list(scope) or []):
        return {}
    claims = {"orgs": [_describe(o, identity) for o in organisations.organisations_with_right(identity, client)]}
    if organisation_id is not None:
        organisation = db.session.get(Organisation, organisation_id)
        if organisation is not None:
            claims["org"] = _describe(organisation, identity)
    return claims
