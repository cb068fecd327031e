"""Token endpoint, RFC 6749 §3.2: authorization_code, refresh_token, client_credentials.

Client secrets are checked with SHA-256 (no argon2 here) so this endpoint stays fast.
"""
from __future__ import annotations

from urllib.parse import unquote_plus

from flask import Blueprint, current_app, request

from ...extensions import db, limiter
from ...metrics import TOKENS
from ...services.clients import GRANT_TYPES

bp = Blueprint("oidc_token", __name__)


def _client_key() -> str | None:
    # The client_id as sent, before authentication: a runaway or attacked client is
    # slowed down without affecting the others behind the same IP.
    auth = request.authorization
    client_id = unquote_plus(auth.username or "") if auth and auth.type == "basic" else request.form.get("client_id")
    return f"client:{client_id[:64]}" if client_id else None


@bp.route("/token", methods=["POST"])
@limiter.limit(lambda: current_app.config["IDP_TOKEN_RATE_LIMIT"])
@limiter.limit(lambda: current_app.config["IDP_TOKEN_CLIENT_RATE_LIMIT"], key_func=_client_key,
               exempt_when=lambda: _client_key() is None)
def token():
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
