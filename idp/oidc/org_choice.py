"""Which organisation a person acts for in an authorization request.

consumer clients: none. business clients: one where the person holds a right for the
client — chosen by the person earlier in this request, `org_id` in the request, the
browser's active organisation, or the only one there is; otherwise the person picks.
both: the same, with "myself" as a choice, also as the browser's active choice.
prompt=select_account always asks. Only what the person picks becomes the browser's
active choice: a service's `org_id`, or the only organisation there is, decides this
request alone, so no service changes whom another sees the person acting for.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..models import Organisation
from ..services import organisations

PERSONAL = "personal"


@dataclass
class Choice:
    """Exactly one of: decided (organisation or None for acting personally), ask, denied.
    picked: decided by the person in the picker, not for them."""

    organisation: Organisation | None = None
    decided: bool = False
    picked: bool = False
    ask: list[Organisation] = field(default_factory=list)
    allow_personal: bool = False
    denied_for: list[Organisation] = field(default_factory=list)


def decide(client, identity, params: dict, chosen: str | None, active: int | str | None, prompts: set) -> Choice:
    """`active`: what the browser acts for, an organisation's id or PERSONAL; None if never chosen."""
    if client.org_mode == "consumer":
        return Choice(decided=True)
    options = organisations.organisations_with_right(identity, client)
    personal_ok = client.org_mode == "both"
    by_id = {str(o.id): o for o in options}
    by_business = {o.business_id: o for o in options if o.business_id}

    if chosen is not None:
        if chosen == PERSONAL and personal_ok:
            return Choice(decided=True, picked=True)
        if chosen in by_id:
            return Choice(organisation=by_id[chosen], decided=True, picked=True)
    requested = params.get("org_id")
    if requested and "select_account" not in prompts:
        found = by_id.get(requested) or by_business.get(requested)
        if found is not None:
            return Choice(organisation=found, decided=True)
        return Choice(denied_for=_requested_memberships(identity, requested))
    if not options:
        return Choice(decided=True) if personal_ok else Choice(denied_for=_own_organisations(identity))
    if "select_account" not in prompts:
        if active == PERSONAL and personal_ok:
            return Choice(decided=True)
        if active is not None and str(active) in by_id:
            return Choice(organisation=by_id[str(active)], decided=True)
        if len(options) == 1 and not personal_ok:
            return Choice(organisation=options[0], decided=True)
    return Choice(ask=options, allow_personal=personal_ok)


def still_allowed(client, identity, organisation_id: int) -> bool:
    """Does the person still hold a right to the client in the organisation chosen when
    the grant began? A code or refresh token outlives that moment."""
    return any(o.id == organisation_id for o in organisations.organisations_with_right(identity, client))


def _own_organisations(identity) -> list[Organisation]:
    return [m.organisation for m in organisations.memberships_of(identity)]


def _requested_memberships(identity, requested: str) -> list[Organisation]:
    return [o for o in _own_organisations(identity) if str(o.id) == requested or o.business_id == requested]
