"""`tunnus clients create|list|update|rotate-secret|delete|keys|kiosk-networks|require-par|dpop`."""
from __future__ import annotations

import click
from flask import current_app

from ..errors import IdpError
from ..models import Client
from ..services import client_keys, clients, strict_json
from ..services.keys import ALGORITHMS
from . import text_arguments
from .orgs import _org
from .output import emit, json_option

group = text_arguments.Group("clients", help="Relying services (OIDC clients).")

AUTH_METHODS = ("client_secret_basic", "private_key_jwt")


def jwks_options(command):
    command = click.option("--jwks-file", type=click.File("r"), default=None,
                           help="A file holding its public keys: a JWK Set, or one JWK.")(command)
    return click.option("--jwks-uri", default=None,
                        help="Where it publishes its public keys (a JWK Set): https, or http on a loopback address "
                             "for development. Read again when an assertion names a key not seen yet.")(command)


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
@click.option("--auth", type=click.Choice(AUTH_METHODS), default=AUTH_METHODS[0], show_default=True,
              help="How it proves who it is at /token, /introspect and /revoke: a client secret (HTTP Basic or in the "
                   "body), or private_key_jwt: assertions signed with its own private key, whose public keys Tunnus "
                   "reads from --jwks-uri or --jwks-file (no shared secret).")
@jwks_options
@click.option("--require-par", is_flag=True,
              help="Accept its authorization requests only pushed to /par first (RFC 9126), never sent whole to "
                   "/authorize.")
@click.option("--dpop-required", is_flag=True,
              help="Refuse its token requests without a DPoP proof, so all its tokens are bound to its key "
                   "(RFC 9449; dpop_bound_access_tokens).")
@json_option
def create(name, redirect_uris, post_logout, public, first_party, grant_types, client_id, org_mode, legacy_system,
           backchannel_logout_uri, frontchannel_logout_uri, kiosk, org_ref, kiosk_networks, id_token_alg, auth,
           jwks_uri, jwks_file, require_par, dpop_required, as_json):
    """Register a relying service; prints its client_id and, once, its secret."""
    keys = _keys(jwks_uri, jwks_file, required=auth == "private_key_jwt")
    if public and auth == "private_key_jwt":
        raise click.UsageError("--public and --auth private_key_jwt exclude each other: an app cannot keep a private key")
    if kiosk != bool(org_ref) or (kiosk_networks and not kiosk):
        raise click.UsageError("--kiosk, --org and --kiosk-network go together")
    if kiosk and not kiosk_networks:
        raise click.UsageError("give the kiosk's --kiosk-network (its resident list is shown to requests from there "
                               "only; 0.0.0.0/0 and ::/0 would show it to anyone)")
    kiosk_organisation = _org(org_ref) if kiosk else None
    try:
        client, secret = clients.create(name, list(redirect_uris), list(post_logout), public=public,
                                        first_party=first_party, grant_types=list(grant_types) or None,
                                        client_id=client_id, org_mode=org_mode, legacy_system=legacy_system,
                                        backchannel_logout_uri=backchannel_logout_uri,
                                        frontchannel_logout_uri=frontchannel_logout_uri,
                                        kiosk_organisation=kiosk_organisation,
                                        kiosk_networks=list(kiosk_networks) if kiosk else None,
                                        id_token_alg=id_token_alg, require_par=require_par, dpop_required=dpop_required,
                                        **keys)
    except IdpError as error:
        raise click.ClickException(str(error))
    data = {"client_id": client.client_id, "client_secret": secret, **_described(client)}
    text = f"client_id:     {client.client_id}\n"
    if secret:
        text += f"client_secret: {secret}\n(the secret is shown only now; store it safely)"
    elif keys:
        text += _signing_advice(client)
    else:
        text += "public client: no secret, use PKCE"
    emit(data, as_json, text)


def _described(client: Client) -> dict:
    """Everything `clients create` sets, but the secret: what create and list print."""
    return {"name": client.name, "public": client.is_public, "first_party": client.first_party,
            "token_endpoint_auth_method": client.token_endpoint_auth_method, "jwks": client.jwks,
            "jwks_uri": client.jwks_uri,
            "redirect_uris": client.redirect_uris, "post_logout_redirect_uris": client.post_logout_redirect_uris,
            "grant_types": client.grant_types, "org_mode": client.org_mode, "legacy_system": client.legacy_system,
            "backchannel_logout_uri": client.backchannel_logout_uri,
            "frontchannel_logout_uri": client.frontchannel_logout_uri,
            "kiosk_organisation_id": client.kiosk_organisation_id, "kiosk_networks": client.kiosk_networks,
            "id_token_signed_response_alg": client.id_token_signed_response_alg,
            "require_pushed_authorization_requests": client.require_pushed_authorization_requests,
            "dpop_bound_access_tokens": client.dpop_bound_access_tokens}


def _keys(jwks_uri: str | None, jwks_file, required: bool) -> dict:
    """The client's public keys as clients.create and client_keys.set_keys take them."""
    if not required:
        if jwks_uri or jwks_file:
            raise click.UsageError("--jwks-uri and --jwks-file go with --auth private_key_jwt")
        return {}
    if bool(jwks_uri) == bool(jwks_file):
        raise click.UsageError("give the client's public keys: --jwks-uri URL or --jwks-file FILE, one of them")
    if jwks_uri:
        return {"jwks_uri": jwks_uri}
    try:
        jwks = strict_json.loads(jwks_file.read())
    except ValueError as error:
        raise click.BadParameter(f"not JSON: {error}", param_hint="--jwks-file") from None
    # A single JWK is a set of one.
    return {"jwks": {"keys": [jwks]} if isinstance(jwks, dict) and "kty" in jwks else jwks}


def _signing_advice(client) -> str:
    where = client.jwks_uri or "the registered keys"
    return (f"token_endpoint_auth_method: private_key_jwt (no secret)\n"
            f"The service signs each client assertion with a private key whose public key is in {where}; "
            f"iss and sub: {client.client_id}, aud: {current_app.config['IDP_ISSUER']}")


@group.command("list")
@json_option
def list_(as_json):
    """List the relying services and how they authenticate."""
    rows = [{"client_id": c.client_id, **_described(c)} for c in clients.all_clients()]
    emit(rows, as_json, "\n".join(f"{r['client_id']}\t{r['name']}\t{r['token_endpoint_auth_method']}"
                                   for r in rows) or "no clients")


@group.command("update")
# An option, not an argument: a random client_id may begin with "-".
@click.option("--client-id", required=True, help="The client's client_id.")
@click.option("--name", default=None, help="Name shown to users on the consent page.")
@click.option("--redirect-uri", "redirect_uris", multiple=True,
              help="Exact redirect URI; repeat for more. Replaces all of them.")
@click.option("--post-logout-redirect-uri", "post_logout", multiple=True,
              help="Where logout may return to; repeat for more. Replaces all of them ('' for none).")
@click.option("--backchannel-logout-uri", default=None, help="Where logout tokens are posted ('' for none).")
@click.option("--frontchannel-logout-uri", default=None, help="Its front-channel logout page ('' for none).")
@click.option("--org-mode", type=click.Choice(clients.ORG_MODES), default=None,
              help="consumer, business or both (see create); not consumer while organisations hold rights to it.")
@json_option
def update(client_id, name, redirect_uris, post_logout, backchannel_logout_uri, frontchannel_logout_uri, org_mode,
           as_json):
    """Change a relying service's name, URIs or org mode: what is given replaces what it had."""
    client = _client(client_id)
    try:
        changed = clients.update(client, name=name, redirect_uris=list(redirect_uris) if redirect_uris else None,
                                 post_logout_redirect_uris=[u for u in post_logout if u] if post_logout else None,
                                 backchannel_logout_uri=backchannel_logout_uri,
                                 frontchannel_logout_uri=frontchannel_logout_uri, org_mode=org_mode)
    except IdpError as error:
        raise click.ClickException(str(error))
    emit({"client_id": client.client_id, "changed": changed, **_described(client)}, as_json,
         f"{client.client_id}: " + (", ".join(changed) + " changed" if changed else "nothing changed"))


@group.command("rotate-secret")
@click.option("--client-id", required=True, help="The client's client_id.")
@json_option
def rotate_secret(client_id, as_json):
    """Give a client a new secret (after a leak, or routinely); the old one stops working."""
    client = _client(client_id)
    try:
        secret = clients.rotate_secret(client)
    except IdpError as error:
        raise click.ClickException(str(error))
    seconds = current_app.config["IDP_CLIENT_CACHE_SECONDS"]
    emit({"client_id": client.client_id, "client_secret": secret}, as_json,
         f"client_id:     {client.client_id}\nclient_secret: {secret}\n(the secret is shown only now; the old one "
         f"stops working at once, in every server process within {seconds:g} s)")


@group.command("delete")
@click.option("--client-id", required=True, help="The client's client_id.")
@click.confirmation_option(prompt="Delete the client, with its tokens, consents and organisations' rights to it?",
                           help="Do not ask for confirmation.")
@json_option
def delete(client_id, as_json):
    """Remove a relying service that is gone: its tokens, consents and rights go with it
    (other server processes know it for up to IDP_CLIENT_CACHE_SECONDS more)."""
    client = _client(client_id)
    clients.delete(client)
    emit({"client_id": client_id, "deleted": True}, as_json, f"{client_id} deleted")


@group.command("keys")
# An option, not an argument: a random client_id may begin with "-".
@click.option("--client-id", required=True, help="The client's client_id.")
@jwks_options
@click.option("--replace-secret", is_flag=True,
              help="For a client that has a client secret: switch it to private_key_jwt; the secret stops working "
                   "at once.")
@json_option
def keys(client_id, jwks_uri, jwks_file, replace_secret, as_json):
    """Set the public keys a private_key_jwt client signs its assertions with (replaces the earlier ones)."""
    client = Client.by_client_id(client_id)
    if client is None:
        raise click.ClickException(f"no client {client_id!r}")
    try:
        client_keys.set_keys(client, **_keys(jwks_uri, jwks_file, required=True), replace_secret=replace_secret)
    except IdpError as error:
        raise click.ClickException(str(error))
    emit({"client_id": client.client_id, "token_endpoint_auth_method": client.token_endpoint_auth_method,
          "jwks_uri": client.jwks_uri, "jwks": client.jwks}, as_json, f"client_id:     {client.client_id}\n"
         + _signing_advice(client))


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
    client = _client(client_id)
    try:
        clients.set_kiosk_networks(client, None if anywhere else list(networks))
    except IdpError as error:
        raise click.ClickException(str(error))
    emit({"client_id": client.client_id, "kiosk_networks": client.kiosk_networks}, as_json,
         f"{client.client_id}: " + (", ".join(client.kiosk_networks) if client.kiosk_networks is not None else "anywhere"))


@group.command("require-par")
@click.option("--client-id", required=True, help="The client's client_id.")
@click.option("--off", is_flag=True, help="Accept its authorization requests sent whole to /authorize again.")
@json_option
def require_par(client_id, off, as_json):
    """Accept a client's authorization requests only pushed to /par first (RFC 9126)."""
    client = _client(client_id)
    clients.set_require_par(client, not off)
    required = client.require_pushed_authorization_requests
    emit({"client_id": client.client_id, "require_pushed_authorization_requests": required}, as_json,
         f"{client.client_id}: pushed authorization requests {'required' if required else 'optional'}")



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
    client = _client(client_id)
    clients.set_dpop_required(client, required)
    emit({"client_id": client.client_id, "dpop_bound_access_tokens": client.dpop_bound_access_tokens}, as_json,
         f"{client.client_id}: DPoP proof " + ("required" if required else "optional"))


def _client(client_id: str) -> Client:
    # Two commands changing one client at once: before, an update as it was deleted was a
    # traceback, and two deletions each said so and were each recorded.
    client = Client.by_client_id(client_id, for_change=True)
    if client is None:
        raise click.ClickException(f"no client {client_id!r}")
    return client
