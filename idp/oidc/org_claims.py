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


def active(identity, organisation_id: int | None, scope: str) -> dict:
    """{"org": ...} for the organisation acted for: what access tokens and introspection carry."""
    if identity is None or organisation_id is None or SCOPE not in (scope_to_list(scope) or []):
        return {}
    organisation = db.session.get(Organisation, organisation_id)
    return {"org": _describe(organisation, identity)} if organisation is not None else {}


def for_grant(identity, client, organisation_id: int | None, scope: str) -> dict:
    """`org` plus `orgs`: what the ID token and userinfo carry."""
    if identity is None or SCOPE not in (scope_to_list(scope) or []):
        return {}
    return {"orgs": [_describe(o, identity) for o in organisations.organisations_with_right(identity, client)],
            **active(identity, organisation_id, scope)}
