"""JWK Set, RFC 7517 §5: the public half of every key that signs or has recently signed."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from ...services.keys import KeysUnavailable

bp = Blueprint("oidc_jwks", __name__)


@bp.route("/jwks")
def jwks():
    try:
        response = jsonify(current_app.extensions["idp.keys"].public_jwks())
    except KeysUnavailable:
        # Not an empty set: relying services would cache it and refuse every token for
        # max-age. A 503 is retried, and caches keep the set they had.
        response = jsonify(error="temporarily_unavailable", error_description="Service Unavailable")
        response.status_code = 503
        response.headers.update({"Cache-Control": "no-store", "Retry-After": "5"})
        return response
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["IDP_JWKS_MAX_AGE"]
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
