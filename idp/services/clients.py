"""Registering relying services."""
from __future__ import annotations

import ipaddress
import re
import secrets

from ..errors import Conflict, ValidationFailed
from ..extensions import db
from ..models import Client, Invitation, ServiceRight
from ..models.client import SUPPORTED_SCOPES, hash_secret
from . import audit, client_keys, names, unique_rows
from .frontchannel import origin_of
from .keys import ALGORITHMS
from .legacy_import import SYSTEM_NAME
from .redirect_uris import check as check_redirect_uri

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
ORG_MODES = ("consumer", "business", "both")

CLIENT_ID = re.compile(r"[A-Za-z0-9._~-]{1,64}")


def check_networks(values: list[str]) -> list[str]:
    """CIDR networks ("203.0.113.0/28", "2001:db8::/48"; an address alone is itself)."""
    networks = []
    for value in values:
        try:
            networks.append(str(ipaddress.ip_network(value.strip())))
        except ValueError:
            raise ValidationFailed(_network_mistake(value)) from None
    if not networks:
        raise ValidationFailed("give at least one network")
    return networks


def _network_mistake(value: str) -> str:
    try:
        meant = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return f"{value!r} is not a network such as 203.0.113.0/28 or an address such as 203.0.113.5"
    return f"{value!r} is not a network: its host bits must be 0 (the network is {meant})"


def _check_frontchannel_uri(uri: str, redirect_uris: list[str]) -> str:
    """Front-Channel Logout 1.0 §2: no fragment, and the scheme, host and port of one of the
    client's redirect URIs (the page is the service's own, framed by Tunnus)."""
    check_redirect_uri(uri)
    if origin_of(uri) not in {origin_of(u) for u in redirect_uris}:
        raise ValidationFailed(f"{uri!r}: a front-channel logout URI must have the scheme, host and port "
                               "of a redirect URI")
    return uri


def create(name: str, redirect_uris: list[str], post_logout_redirect_uris: list[str] = (), *,
           public: bool = False, first_party: bool = False, grant_types: list[str] | None = None,
           client_id: str | None = None, org_mode: str = "consumer",
           legacy_system: str | None = None,
           backchannel_logout_uri: str | None = None,
           frontchannel_logout_uri: str | None = None,
           kiosk_organisation=None, kiosk_networks: list[str] | None = None,
           id_token_alg: str = "RS256", jwks: dict | None = None,
           jwks_uri: str | None = None, require_par: bool = False,
           dpop_required: bool = False) -> tuple[Client, str | None]:
    """The new client and its secret (None for public clients and for those that sign
    client assertions with the keys in `jwks` or at `jwks_uri`). The secret is shown once.
    A kiosk (a building's touch screen, `kiosk_organisation` given) signs its residents in
    with a PIN, from `kiosk_networks` only (None: anywhere), and never gets refresh tokens
    or offline access. `require_par`: its authorization requests are accepted only pushed
    to /par (RFC 9126). `dpop_required`: every token request must carry a DPoP proof."""
    if kiosk_organisation is not None:
        _check_kiosk(grant_types, org_mode)
    elif kiosk_networks is not None:
        raise ValidationFailed("only a kiosk has networks")
    grant_types = list(grant_types or (["authorization_code"] if kiosk_organisation is not None
                                       else ["authorization_code", "refresh_token"]))
    unknown = set(grant_types) - set(GRANT_TYPES)
    if unknown:
        raise ValidationFailed(f"unknown grant type(s): {', '.join(sorted(unknown))}")
    if org_mode not in ORG_MODES:
        raise ValidationFailed(f"org mode must be one of {', '.join(ORG_MODES)}")
    if public and "client_credentials" in grant_types:
        raise ValidationFailed("a public client cannot use client_credentials")
    if "authorization_code" in grant_types and not redirect_uris:
        raise ValidationFailed("give at least one --redirect-uri")
    keys = jwks is not None or jwks_uri is not None
    if keys and public:
        raise ValidationFailed("a public client has no keys: it could not keep the private key to itself")
    if jwks is not None and jwks_uri is not None:
        raise ValidationFailed("give the keys or the URL they are published at, not both")
    if id_token_alg not in ALGORITHMS:
        raise ValidationFailed(f"the ID token algorithm must be one of {', '.join(ALGORITHMS)}")
    # RFC 3986's unreserved characters only: HTTP Basic sends the id form-encoded (RFC 6749
    # §2.3.1), and one with a space ("+" there) could never authenticate.
    if client_id is not None and not CLIENT_ID.fullmatch(client_id):
        raise ValidationFailed("a client_id has 1-64 of the characters A-Z, a-z, 0-9, '-', '.', '_' and '~'")
    if client_id and Client.by_client_id(client_id) is not None:
        raise Conflict(f"client_id {client_id!r} is already in use")
    client = Client(
        client_id=client_id or secrets.token_urlsafe(16),
        name=_name(name),
        redirect_uris=[check_redirect_uri(u, native=public) for u in redirect_uris],
        post_logout_redirect_uris=[check_redirect_uri(u, native=public) for u in post_logout_redirect_uris],
        grant_types=grant_types,
        is_public=public,
        first_party=first_party,
        org_mode=org_mode,
        legacy_system=_legacy_system(legacy_system),
        # Same rules as redirect URIs (https, or http on loopback; no fragment), as OIDC
        # Back-Channel Logout §2.2 asks.
        backchannel_logout_uri=check_redirect_uri(backchannel_logout_uri) if backchannel_logout_uri else None,
        frontchannel_logout_uri=_check_frontchannel_uri(frontchannel_logout_uri, redirect_uris)
        if frontchannel_logout_uri else None,
        kiosk_organisation_id=kiosk_organisation.id if kiosk_organisation is not None else None,
        kiosk_networks=check_networks(kiosk_networks) if kiosk_networks is not None else None,
        id_token_signed_response_alg=id_token_alg,
        jwks=client_keys.check_jwks(jwks) if jwks is not None else None,
        jwks_uri=check_redirect_uri(jwks_uri) if jwks_uri is not None else None,
        require_pushed_authorization_requests=require_par,
        dpop_bound_access_tokens=dpop_required,
    )
    if kiosk_organisation is not None:
        client.scope = " ".join(scope for scope in SUPPORTED_SCOPES if scope != "offline_access")
    secret = None if public or keys else secrets.token_urlsafe(32)
    client.secret_hash = hash_secret(secret) if secret else None
    # Two operators giving the same client_id at once: the unique index decides.
    if unique_rows.add_or_existing(client, lambda: Client.by_client_id(client.client_id)) is not client:
        raise Conflict(f"client_id {client.client_id!r} is already in use")
    audit.record("client.created", client_id=client.client_id, name=client.name,
                 token_endpoint_auth_method=client.token_endpoint_auth_method,
                 kiosk_organisation_id=client.kiosk_organisation_id, kiosk_networks=client.kiosk_networks,
                 require_pushed_authorization_requests=require_par, dpop_bound_access_tokens=dpop_required)
    db.session.commit()
    return client, secret


def _name(name: str) -> str:
    name = names.one_line(name)
    if not 0 < len(name) <= 200:
        raise ValidationFailed("the name must have 1-200 characters")
    return name


def _check_kiosk(grant_types: list[str] | None, org_mode: str) -> None:
    if grant_types and set(grant_types) != {"authorization_code"}:
        raise ValidationFailed("a kiosk client uses the authorization_code grant only (no refresh tokens)")
    if org_mode != "consumer":
        raise ValidationFailed("a kiosk client signs residents in for themselves (org mode consumer)")


def set_kiosk_networks(client: Client, networks: list[str] | None) -> None:
    """Where the kiosk's sign-ins may come from from now on (None: anywhere)."""
    if client.kiosk_organisation_id is None:
        raise ValidationFailed("only a kiosk has networks")
    client.kiosk_networks = check_networks(networks) if networks is not None else None
    audit.record("client.kiosk_networks", client_id=client.client_id, kiosk_networks=client.kiosk_networks)
    db.session.commit()


def set_require_par(client: Client, required: bool) -> None:
    """Accept the client's authorization requests only pushed to /par, or also sent whole
    to /authorize. Requests it started before are held to the new rule as they go on."""
    client.require_pushed_authorization_requests = required
    audit.record("client.require_par", client_id=client.client_id, require_pushed_authorization_requests=required)
    db.session.commit()


def set_dpop_required(client: Client, required: bool) -> None:
    """Whether the client's every token request must carry a DPoP proof (RFC 9449 §5.2)."""
    client.dpop_bound_access_tokens = required
    audit.record("client.dpop_required", client_id=client.client_id, required=required)
    db.session.commit()


def rotate_secret(client: Client) -> str:
    """A new secret for a client that authenticates with one (a leak, a routine change).
    The old one stops working now: in other processes once their copy of the client runs
    out (IDP_CLIENT_CACHE_SECONDS). Shown once, as at registration."""
    if client.secret_hash is None:
        raise ValidationFailed(f"{client.client_id!r} has no client secret (a public client, or private_key_jwt)")
    secret = secrets.token_urlsafe(32)
    client.secret_hash = hash_secret(secret)
    audit.record("client.secret_rotated", client_id=client.client_id)
    db.session.commit()
    return secret


def _legacy_system(name: str | None) -> str | None:
    """As `tunnus legacy import --system` names it: the claims compare it exactly, and a name
    no import can have (a capital, a typo of another form) gave the service no legacy_ids."""
    name = (name or "").strip() or None
    if name is not None and not SYSTEM_NAME.fullmatch(name):
        raise ValidationFailed(f"{name!r} is no old system's name: as `tunnus legacy import --system` takes it, "
                               "1-64 characters a-z, 0-9, '.', '_' or '-'")
    return name


def update(client: Client, *, name: str | None = None, redirect_uris: list[str] | None = None,
           post_logout_redirect_uris: list[str] | None = None, backchannel_logout_uri: str | None = None,
           frontchannel_logout_uri: str | None = None, org_mode: str | None = None) -> list[str]:
    """Change what is given, checked as at registration (None: left as it is; "" for a
    logout URI: none any more). Authorization requests under way are held to the new
    values as they go on. The names of the settings changed."""
    changes = {}
    if name is not None:
        changes["name"] = _name(name)
    if redirect_uris is not None:
        if "authorization_code" in client.grant_types and not redirect_uris:
            raise ValidationFailed("give at least one --redirect-uri")
        changes["redirect_uris"] = [check_redirect_uri(u, native=client.is_public) for u in redirect_uris]
    if post_logout_redirect_uris is not None:
        changes["post_logout_redirect_uris"] = [check_redirect_uri(u, native=client.is_public)
                                                for u in post_logout_redirect_uris]
    if backchannel_logout_uri is not None:
        changes["backchannel_logout_uri"] = check_redirect_uri(backchannel_logout_uri) if backchannel_logout_uri \
            else None
    front = frontchannel_logout_uri if frontchannel_logout_uri is not None else client.frontchannel_logout_uri
    if front:  # checked against the redirect URIs it will have
        _check_frontchannel_uri(front, changes.get("redirect_uris", client.redirect_uris))
    if frontchannel_logout_uri is not None:
        changes["frontchannel_logout_uri"] = frontchannel_logout_uri or None
    if org_mode is not None:
        if org_mode not in ORG_MODES:
            raise ValidationFailed(f"org mode must be one of {', '.join(ORG_MODES)}")
        if org_mode == "consumer" and client.org_mode != "consumer" and _rights_to(client):
            # They would stay in force (refresh tokens acting for the organisation) with the
            # service gone from the admins' pages, where they are revoked.
            raise Conflict(f"organisations have granted {_rights_to(client)} rights to use {client.name}: they must "
                           "be revoked first (`tunnus orgs revoke`, or by their admins)")
        if client.kiosk_organisation_id is not None:
            _check_kiosk(None, org_mode)
        changes["org_mode"] = org_mode
    changed = sorted(field for field, value in changes.items() if getattr(client, field) != value)
    for field in changed:
        setattr(client, field, changes[field])
    if changed:
        audit.record("client.updated", client_id=client.client_id, **{field: changes[field] for field in changed})
        db.session.commit()
    return changed


def _rights_to(client: Client) -> int:
    return db.session.execute(db.select(db.func.count()).select_from(ServiceRight)
                              .where(ServiceRight.client_id == client.id)).scalar_one()


def delete(client: Client) -> None:
    """The service is gone: its tokens, codes, consents, rights and waiting logout
    notifications go with it (cascades), and it leaves the rights invitations would grant
    (a bare id there, which SQLite may give the next client registered). Access tokens it
    holds are no longer active at introspection; a JWT checked only by its signature lasts
    until it expires, and other processes know it for up to IDP_CLIENT_CACHE_SECONDS more."""
    for invitation in db.session.execute(db.select(Invitation)).scalars():
        if client.id in (invitation.client_ids or ()):
            invitation.client_ids = [kept for kept in invitation.client_ids if kept != client.id]
    audit.record("client.deleted", client_id=client.client_id, name=client.name)
    db.session.delete(client)
    db.session.commit()


def all_clients() -> list[Client]:
    return list(db.session.execute(db.select(Client).order_by(Client.id)).scalars())
