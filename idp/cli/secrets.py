"""`tunnus secrets reseal`."""
from __future__ import annotations

import click

from ..services import secret_rotation
from . import text_arguments
from .output import emit, json_option

group = text_arguments.Group("secrets", help="What IDP_SECRET_KEY seals.")


@group.command("reseal")
@json_option
def reseal(as_json):
    """Seal TOTP seeds and upstream client secrets again under the current IDP_SECRET_KEY
    (after changing it, with the earlier value in IDP_SECRET_KEY_FALLBACKS)."""
    counts = secret_rotation.reseal()
    emit(counts, as_json)
    if counts["unreadable"]:
        raise click.ClickException(f"{counts['unreadable']} sealed under a key that is neither IDP_SECRET_KEY nor "
                                   "listed in IDP_SECRET_KEY_FALLBACKS; they were left as they are")
