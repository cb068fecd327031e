"""The page shown after a logout, when relying services asked for front-channel logout:
their logout pages in hidden iframes (services/frontchannel.py), the page's CSP allowing
exactly their origins, then on to where the logout request said to return, if anywhere."""
from __future__ import annotations

from flask import current_app, render_template

from ..services import frontchannel
from . import security_headers


def with_frames(sids: list[str], continue_to: str | None = None):
    """The logged-out page with the frames; None when no service listens this way."""
    frames = frontchannel.frames(sids, current_app.config["IDP_ISSUER"])
    if not frames:
        return None
    security_headers.allow_frames([frame.origin for frame in frames])
    return render_template("oidc/logged_out.html", frames=frames, continue_to=continue_to)
