"""The organisation claims: `org` (the organisation acted for) and `orgs` (every
organisation where the person may use this client). The `organizations` scope brings
both to the ID token and userinfo (as may the `claims` parameter, claims.py), and `org`
to the access token and introspection."""
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
    return _acted_for(identity, organisation_id) if SCOPE in (scope_to_list(scope) or []) else {}


def _acted_for(identity, organisation_id: int | None) -> dict:
    if identity is None or organisation_id is None:
        return {}
    organisation = db.session.get(Organisation, organisation_id)
    return {"org": _describe(organisation, identity)} if organisation is not None else {}


def for_grant(identity, client, organisation_id: int | None, names: set[str]) -> dict:
    """Those of `org` and `orgs` that are among `names`: what the ID token and userinfo carry."""
    result = {}
    if "orgs" in names:
        result["orgs"] = [_describe(o, identity) for o in organisations.organisations_with_right(identity, client)]
    if "org" in names:
        result.update(_acted_for(identity, organisation_id))
    return result
