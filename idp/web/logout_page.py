"""The page shown after a logout, when relying services asked for front-channel logout:
their logout pages in hidden iframes (services/frontchannel.py), the page's CSP allowing
exactly their origins, then on to where the logout request said to return, if anywhere."""
from __future__ import annotations

from flask import current_app, render_template

from ..services import frontchannel
from . import security_headers


def with_frames(sids: list[str], continue_to: str | None = None):
    """The logged-out page with the frames; None when no service listens this way."""
    return page("oidc/logged_out.html", frames_of(sids), continue_to=continue_to)


def frames_of(sids: list[str]) -> list:
    """The frames of the ended sessions `sids`; read before what ends them deletes their
    tokens (an account's deletion), as the frames are found by them."""
    return frontchannel.frames(sids, current_app.config["IDP_ISSUER"])


def page(template: str, frames: list, **context):
    """`template` with `frames` and its CSP allowing exactly their origins; None without frames."""
    if not frames:
        return None
    security_headers.allow_frames([frame.origin for frame in frames])
    return render_template(template, frames=frames, **context)
