"""`tunnus upstreams add|list|remove`: upstream OpenID providers for strong identification."""
from __future__ import annotations

import click

from ..errors import IdpError
from ..methods import upstream as upstream_method
from ..services import upstreams
from . import text_arguments
from .output import emit, json_option

group = text_arguments.Group("upstreams", help="Upstream OpenID providers (e.g. bank ID) for strong identification.")


def _row(provider) -> dict:
    return {"id": provider.id, "key": upstreams.key(provider.name), "name": provider.name, "issuer": provider.issuer, "client_id": provider.client_id,
            "callback_url": upstreams.callback_url(provider), "links": upstreams.links_count(provider)}


@group.command("add")
@click.option("--name", required=True, help='Shown to people as "Identify with NAME"; its URLs are '
              '/identify/KEY/..., KEY being the name in lower case with "-" for other characters.')
@click.option("--issuer", required=True, help="The provider's issuer URL (its discovery document is read from it).")
@click.option("--client-id", required=True, help="The client id the provider registered for Tunnus.")
@click.option("--client-secret", prompt=True, hide_input=True,
              help="The client secret (asked for when not given; stored encrypted).")
@json_option
def add(name, issuer, client_id, client_secret, as_json):
    """Add an upstream OpenID provider; prints the callback URL to register there."""
    try:
        provider = upstreams.add(name, issuer, client_id, client_secret)
    except IdpError as error:
        raise click.ClickException(str(error))
    try:
        upstream_method.metadata(provider)
        warning = None
    except upstream_method.UpstreamRefused as error:
        warning = f"the provider's discovery document could not be used ({error.reason}); check the issuer"
    data = {**_row(provider), "warning": warning}
    text = (f"id:           {provider.id}\ncallback_url: {data['callback_url']}\n"
            "(register the callback URL as a redirect URI of this client at the provider)")
    emit(data, as_json, text + (f"\nwarning: {warning}" if warning else ""))


@group.command("list")
@json_option
def list_(as_json):
    """List the upstream providers, their callback URLs and linked people."""
    rows = [_row(provider) for provider in upstreams.all_providers()]
    emit(rows, as_json, "\n".join(f"{r['id']}\t{r['name']}\t{r['issuer']}\t{r['callback_url']}\t{r['links']} linked"
                                   for r in rows) or "no upstream providers")


@group.command("remove")
@click.argument("provider")
@json_option
def remove(provider, as_json):
    """Remove PROVIDER (its id, name or key); people linked to it stay strongly identified."""
    try:
        found = upstreams.find(provider)
    except IdpError as error:
        raise click.ClickException(f"no upstream provider {provider!r}") from error
    removed = {"id": found.id, "name": found.name, "links_removed": upstreams.remove(found)}
    emit(removed, as_json, f"removed {removed['name']} ({removed['links_removed']} links)")
