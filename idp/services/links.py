"""Absolute links for mail and tokens, built from the issuer (works outside requests too)."""
from __future__ import annotations

from flask import current_app


def external(endpoint: str, **values) -> str:
    path = current_app.url_map.bind("tunnus.invalid").build(endpoint, values)
    return current_app.config["IDP_ISSUER"] + path
