"""`tunnus clients create|list|kiosk-networks|dpop`."""
from __future__ import annotations

import click

from ..errors import IdpError, NotFound
from ..models import Client
from ..services import clients
from ..services.keys import ALGORITHMS
from .orgs import _org
from .output import emit, json_option

group = click.Group("clients", help="Relying services (OIDC clients).")


@group.command("create")
@click.option("--name", required=True, help="Name shown to users on the consent page.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Exact redirect URI; repeat for more. A --public app may use its own scheme (fi.example.app:/cb).")
@click.option("--post-logout-redirect-uri", "post_logout", multiple=True, help="Where logout may return to.")
@click.option("--public", is_flag=True, help="No secret (browser or native app); PKCE is then required.")
@click.option("--first-party", is_flag=True, help="Our own service: users are not asked for consent.")
@click.option("--grant-type", "grant_types", multiple=True, type=click.Choice(clients.GRANT_TYPES),
              help="Allowed grant; default authorization_code and refresh_token.")
@click.option("--client-id", default=None, help="Choose the client_id (default: random).")
@click.option("--org-mode", type=click.Choice(clients.ORG_MODES), default="consumer", show_default=True,
              help="consumer: people act for themselves; business: for an organisation where they hold a "
                   "right to this service; both: either.")
@click.option("--legacy-system", default=None,
              help="The old system this service replaces (as in `legacy import --system`): its tokens carry "
                   "legacy_ids, the person's ids there.")
@click.option("--backchannel-logout-uri", default=None,
              help="Where Tunnus posts a signed logout token when a session this service got tokens in ends.")
@click.option("--frontchannel-logout-uri", default=None,
              help="Page of this service that Tunnus loads in an iframe, with iss and sid, on the page shown after "
                   "a logout (same scheme, host and port as a redirect URI).")
@click.option("--kiosk", is_flag=True,
              help="A building's touch screen: the residents of --org sign in with their PIN; no refresh tokens.")
@click.option("--org", "org_ref", default=None, help="With --kiosk: the organisation (id or business id).")
@click.option("--kiosk-network", "kiosk_networks", multiple=True,
              help="With --kiosk: a network (CIDR) the kiosk signs in from, such as the building's address; "
                   "repeat for more. Elsewhere its resident list and PIN page are refused.")
@click.option("--id-token-alg", type=click.Choice(ALGORITHMS), default="RS256", show_default=True,
              help="How its ID tokens (and back-channel logout tokens) are signed.")
@click.option("--dpop-required", is_flag=True,
              help="Refuse its token requests without a DPoP proof, so all its tokens are bound to its key "
                   "(RFC 9449; dpop_bound_access_tokens).")
@json_option
def create(name, redirect_uris, post_logout, public, first_party, grant_types, client_id, org_mode, legacy_system,
           backchannel_logout_uri, frontchannel_logout_uri, kiosk, org_ref, kiosk_networks, id_token_alg,
           dpop_required, as_json):
    if kiosk != bool(org_ref) or (kiosk_networks and not kiosk):
        raise click.UsageError("--kiosk, --org and --kiosk-network go together")
    if kiosk and not kiosk_networks:
        raise click.UsageError("give the kiosk's --kiosk-network (its resident list is shown to requests from there "
                               "only; 0.0.0.0/0 and ::/0 would show it to anyone)")
    kiosk_organisation = _organisation(org_ref) if kiosk else None
    try:
        client, secret = clients.create(name, list(redirect_uris), list(post_logout), public=public,
                                        first_party=first_party, grant_types=list(grant_types) or None,
                                        client_id=client_id, org_mode=org_mode, legacy_system=legacy_system,
                                        backchannel_logout_uri=backchannel_logout_uri,
                                        frontchannel_logout_uri=frontchannel_logout_uri,
                                        kiosk_organisation=kiosk_organisation,
                                        kiosk_networks=list(kiosk_networks) if kiosk else None,
                                        id_token_alg=id_token_alg, dpop_required=dpop_required)
    except IdpError as error:
        raise click.ClickException(str(error))
    data = {"client_id": client.client_id, "client_secret": secret, "name": client.name,
            "redirect_uris": client.redirect_uris, "grant_types": client.grant_types, "org_mode": client.org_mode,
            "legacy_system": client.legacy_system, "backchannel_logout_uri": client.backchannel_logout_uri,
            "frontchannel_logout_uri": client.frontchannel_logout_uri,
            "kiosk_organisation_id": client.kiosk_organisation_id, "kiosk_networks": client.kiosk_networks,
            "id_token_signed_response_alg": client.id_token_signed_response_alg,
            "dpop_bound_access_tokens": client.dpop_bound_access_tokens}
    text = f"client_id:     {client.client_id}\n"
    text += f"client_secret: {secret}\n(the secret is shown only now; store it safely)" if secret else "public client: no secret, use PKCE"
    emit(data, as_json, text)


def _organisation(ref: str):
    try:
        found = _org(ref)
    except NotFound:
        found = None
    if found is None:
        raise click.ClickException(f"no organisation {ref!r}")
    return found


@group.command("list")
@json_option
def list_(as_json):
    rows = [{"client_id": c.client_id, "name": c.name, "public": c.is_public, "first_party": c.first_party,
             "redirect_uris": c.redirect_uris, "grant_types": c.grant_types, "org_mode": c.org_mode,
             "kiosk_organisation_id": c.kiosk_organisation_id, "kiosk_networks": c.kiosk_networks,
             "dpop_bound_access_tokens": c.dpop_bound_access_tokens}
            for c in clients.all_clients()]
    emit(rows, as_json, "\n".join(f"{r['client_id']}\t{r['name']}\t{'public' if r['public'] else 'confidential'}"
                                   for r in rows) or "no clients")


@group.command("kiosk-networks")
# An option, not an argument: a random client_id may begin with "-".
@click.option("--client-id", required=True, help="The kiosk's client_id.")
@click.option("--network", "networks", multiple=True, help="A network (CIDR) the kiosk signs in from; repeat for more.")
@click.option("--anywhere", is_flag=True, help="Let the kiosk be used from any address (as kiosks registered "
                                               "before networks were asked).")
@json_option
def kiosk_networks(client_id, networks, anywhere, as_json):
    """Set where a kiosk's sign-ins may come from (replaces the earlier networks)."""
    if anywhere == bool(networks):
        raise click.UsageError("give --network (one or more) or --anywhere")
    client = Client.by_client_id(client_id)
    if client is None:
        raise click.ClickException(f"no client {client_id!r}")
    try:
        clients.set_kiosk_networks(client, None if anywhere else list(networks))
    except IdpError as error:
        raise click.ClickException(str(error))
    emit({"client_id": client.client_id, "kiosk_networks": client.kiosk_networks}, as_json,
         f"{client.client_id}: " + (", ".join(client.kiosk_networks) if client.kiosk_networks is not None else "anywhere"))


@group.command("dpop")
# An option, not an argument: a random client_id may begin with "-".
@click.option("--client-id", required=True, help="The client's client_id.")
@click.option("--required/--optional", default=None,
              help="Refuse its token requests without a DPoP proof, or accept them (their tokens are then Bearer "
                   "tokens).")
@json_option
def dpop(client_id, required, as_json):
    """Whether a client must send a DPoP proof with every token request (RFC 9449 §5.2)."""
    if required is None:
        raise click.UsageError("give --required or --optional")
    client = Client.by_client_id(client_id)
    if client is None:
        raise click.ClickException(f"no client {client_id!r}")
    clients.set_dpop_required(client, required)
    emit({"client_id": client.client_id, "dpop_bound_access_tokens": client.dpop_bound_access_tokens}, as_json,
         f"{client.client_id}: DPoP proof " + ("required" if required else "optional"))
