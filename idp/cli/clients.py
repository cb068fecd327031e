"""`tunnus clients create|list`."""
from __future__ import annotations

import click

from ..errors import IdpError, NotFound
from ..services import clients
from .orgs import _org
from .output import emit, json_option

group = click.Group("clients", help="Relying services (OIDC clients).")


@group.command("create")
@click.option("--name", required=True, help="Name shown to users on the consent page.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="Exact redirect URI; repeat for more.")
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
@json_option
def create(name, redirect_uris, post_logout, public, first_party, grant_types, client_id, org_mode, legacy_system,
           backchannel_logout_uri, frontchannel_logout_uri, kiosk, org_ref, as_json):
    if kiosk != bool(org_ref):
        raise click.UsageError("--kiosk and --org go together")
    kiosk_organisation = _organisation(org_ref) if kiosk else None
    try:
        client, secret = clients.create(name, list(redirect_uris), list(post_logout), public=public,
                                        first_party=first_party, grant_types=list(grant_types) or None,
                                        client_id=client_id, org_mode=org_mode, legacy_system=legacy_system,
                                        backchannel_logout_uri=backchannel_logout_uri,
                                        frontchannel_logout_uri=frontchannel_logout_uri,
                                        kiosk_organisation=kiosk_organisation)
    except IdpError as error:
        raise click.ClickException(str(error))
    data = {"client_id": client.client_id, "client_secret": secret, "name": client.name,
            "redirect_uris": client.redirect_uris, "grant_types": client.grant_types, "org_mode": client.org_mode,
            "legacy_system": client.legacy_system, "backchannel_logout_uri": client.backchannel_logout_uri,
            "frontchannel_logout_uri": client.frontchannel_logout_uri,
            "kiosk_organisation_id": client.kiosk_organisation_id}
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
             "kiosk_organisation_id": c.kiosk_organisation_id}
            for c in clients.all_clients()]
    emit(rows, as_json, "\n".join(f"{r['client_id']}\t{r['name']}\t{'public' if r['public'] else 'confidential'}"
                                   for r in rows) or "no clients")
