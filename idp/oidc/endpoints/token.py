"""Token endpoint, RFC 6749 §3.2: authorization_code, refresh_token, client_credentials.

Client secrets are checked with SHA-256 (no argon2 here) so this endpoint stays fast; a
client_credentials request that will succeed is answered before Flask (fast_path.py).
"""
from __future__ import annotations

from flask import Blueprint, current_app, request

from ...extensions import db
from ...metrics import TOKENS
from ...services.clients import GRANT_TYPES

bp = Blueprint("oidc_token", __name__)


@bp.route("/token", methods=["POST"])
def token():
    current_app.extensions["idp.token_limits"].check(request)
    response = current_app.extensions["idp.server"].create_token_response()
    # One commit once the whole response (ID token included) exists: a failure anywhere
    # before it leaves no half-issued grant. Failure paths that must persist something
    # (revocation after a replayed code or reused refresh token) commit it themselves.
    # A client's own token (client_credentials) touched no database: skip the empty commit.
    if db.session.registry.has() and db.session().in_transaction():
        if response.status_code == 200:
            db.session.commit()
        else:
            db.session.rollback()
    grant_type = request.form.get("grant_type", "")
    TOKENS.labels(grant_type if grant_type in GRANT_TYPES else "other", str(response.status_code)).inc()
    return response
