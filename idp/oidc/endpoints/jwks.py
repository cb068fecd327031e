"""JWK Set, RFC 7517 §5: the public half of every key that signs or has recently signed."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify

bp = Blueprint("oidc_jwks", __name__)


@bp.route("/jwks")
def jwks():
    response = jsonify(current_app.extensions["idp.keys"].public_jwks())
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["IDP_JWKS_MAX_AGE"]
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
