"""Has the person allowed a client what it asks for, and remembering that they did:
the scope (OIDC Core 1.0 §3.1.2.4) and the claims the `claims` parameter names beyond
it (§5.5: they need the same authorization, see claims.py)."""
from __future__ import annotations

from ..extensions import db
from ..models import Consent
from ..services import audit, clock
from . import claims


def _stored(identity, client) -> Consent | None:
    return db.session.execute(
        db.select(Consent).filter_by(identity_id=identity.id, client_id=client.id)
    ).scalar_one_or_none()


def needed(client, identity, scope: str, requested: dict, prompts: set, pending) -> bool:
    """`requested`: the granted `claims` request (claims.granted)."""
    if pending is not None and pending.consented:
        return False
    if "consent" in prompts:
        return True
    if client.first_party:
        return False
    stored = _stored(identity, client)
    # A claim asked for by name is covered by a scope consented before, or by its name.
    return stored is None or not stored.covers(scope, claims.beyond_scope(requested, stored.scope))


def remember(identity, client, scope: str, requested: dict, origin) -> None:
    stored = _stored(identity, client)
    if stored is None:
        stored = Consent(identity_id=identity.id, client_id=client.id, scope="", claims="")
        db.session.add(stored)
    by_name = claims.beyond_scope(requested, scope)
    stored.scope = " ".join(sorted(set(stored.scope.split()) | set(scope.split())))
    stored.claims = " ".join(sorted(set(stored.claims.split()) | set(by_name)))
    stored.granted_at = clock.now()
    audit.record("consent.granted", origin=origin, identity=identity, client_id=client.client_id, scope=scope,
                 **({"claims": by_name} if by_name else {}))
