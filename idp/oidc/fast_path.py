"""The two requests machines make most, answered before Flask: a client_credentials token
(RFC 6749 §4.4) and the introspection (RFC 7662) of such a token by its own client.

Flask, Authlib's request handling and Flask-Limiter cost several times what issuing the
token does. This WSGI layer answers such a request only when it succeeds, with the same
parts the views use (the clients the client cache holds, the client's own secret check,
the token generator, ClientToken, Authlib's introspection payload, the /token limits)
and the same headers, metrics and access line. Anything else (another grant, a person's
token, an unknown parameter, one in the URL, a DPoP proof, a client not registered for it
or not in the cache yet, a wrong secret, a limit reached, an error) goes on to Flask
untouched, so every refusal has one definition: the views'.
"""
from __future__ import annotations

import io
import json
import logging
import secrets
import time
from urllib.parse import parse_qsl

import sqlalchemy as sa
from authlib.oauth2.rfc6749 import scope_to_list

from ..metrics import LATENCY, TOKENS
from ..web import access_log, request_id, security_headers
from . import basic_credentials, cors
from .client_tokens import ClientToken
from .endpoints.introspection import IntrospectionEndpoint
from .grants.client_credentials import USER_SCOPES

log = logging.getLogger(__name__)

MAX_BODY = 8192
TOKEN_FIELDS = frozenset({"grant_type", "scope", "client_id", "client_secret"})
INTROSPECTION_FIELDS = frozenset({"token", "token_type_hint", "client_id", "client_secret"})
JSON_HEADERS = [("Content-Type", "application/json"), ("Cache-Control", "no-store"), ("Pragma", "no-cache")]


class FastPath:
    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self.server = app.extensions["idp.server"]
        self.clients = app.extensions["idp.clients"]
        self.limits = app.extensions["idp.token_limits"]
        self.introspection = IntrospectionEndpoint(self.server)
        self.answers = {"/token": self._token, "/introspect": self._introspect}
        self.latency = {path: LATENCY.labels(path, "POST") for path in self.answers}
        self.issued = TOKENS.labels("client_credentials", "200")
        fixed = JSON_HEADERS + security_headers.fixed(app.config["SESSION_COOKIE_SECURE"])
        self.headers = {path: fixed + (cors.HEADERS if path in cors.PATHS else []) for path in self.answers}
        self.access_log = app.config["IDP_ACCESS_LOG"]

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO")
        answer = self.answers.get(path)
        # Parameters in the URL too are the views' to read (and refuse when repeated).
        if answer is None or environ.get("REQUEST_METHOD") != "POST" or environ.get("QUERY_STRING"):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        form = _form(environ)
        body = None
        if form is not None:
            try:
                body = answer(environ, form)
            except sa.exc.SQLAlchemyError:
                pass  # the database is down or busy: the view answers 503 and logs it
            except Exception:
                log.exception("answering %s before Flask failed; Flask answers it", path)
        if body is None:
            return self.wsgi_app(environ, start_response)
        data = json.dumps(body, sort_keys=True).encode()
        rid = request_id.chosen(environ.get("HTTP_X_REQUEST_ID"))
        start_response("200 OK", self.headers[path] + [
            ("Content-Length", str(len(data))), ("X-Request-ID", rid),
            ("Content-Security-Policy", security_headers.policy(secrets.token_urlsafe(16)))])
        self.latency[path].observe(time.perf_counter() - started)
        if self.access_log:
            access_log.write_answered(environ, 200, started, rid)
        return [data]

    def _token(self, environ, form: dict) -> dict | None:
        if form.get("grant_type") != "client_credentials" or not form.keys() <= TOKEN_FIELDS:
            return None
        if "HTTP_DPOP" in environ:  # a DPoP-bound token (RFC 9449 §5): the proof is the views' to check
            return None
        client = self._client(environ, form, "token")
        # A client that must bind its tokens (RFC 9449 §5.2) is refused by the views.
        if client is None or client.dpop_bound_access_tokens or not client.check_grant_type("client_credentials"):
            return None
        scope = form.get("scope")
        requested = set(scope_to_list(scope) or [])
        if not requested <= set(self.server.scopes_supported) or requested & USER_SCOPES:
            return None
        # Counted only here, once the request is known to succeed otherwise: a request
        # passed on is counted by the view instead (the client_id it sent is this one).
        if self.limits.hit(environ.get("REMOTE_ADDR"), client.client_id) is not None:
            return None  # the view counts it again and answers 429
        token = self.server.token_generator("client_credentials", client, scope=scope, include_refresh_token=False)
        self.issued.inc()
        return token

    def _introspect(self, environ, form: dict) -> dict | None:
        if not form.get("token") or not form.keys() <= INTROSPECTION_FIELDS:
            return None
        if form.get("token_type_hint") not in (None, "access_token"):
            return None
        client = self._client(environ, form, IntrospectionEndpoint.ENDPOINT_NAME)
        if client is None:
            return None
        with self.app.app_context():  # the keys, and the revoked ids read from the database
            token = ClientToken.find(form["token"])
            if token is None or not self.introspection.check_permission(token, client, None):
                return None
            return self.introspection.create_introspection_payload(token)

    def _client(self, environ, form: dict, endpoint: str):
        """The client, if its client_secret_basic or client_secret_post authentication is right."""
        authorization = environ.get("HTTP_AUTHORIZATION")
        if authorization:
            if "client_id" in form or "client_secret" in form:
                return None
            try:
                client_id, secret = basic_credentials.read(authorization)
            except basic_credentials.Malformed:
                return None
            method = "client_secret_basic"
        else:
            client_id, secret = form.get("client_id"), form.get("client_secret")
            method = "client_secret_post"
        if not client_id or not secret:
            return None
        # From memory only: a client not held (or held too long) goes to Flask, whose lookup
        # fills the cache; so an unknown client_id costs one database lookup, not two.
        client = self.clients.fresh(client_id)
        if client is None or not client.check_endpoint_auth_method(method, endpoint):
            return None
        return client if client.check_client_secret(secret) else None


def _form(environ) -> dict | None:
    """The form fields of a small urlencoded body, each sent once; the body stays readable for Flask."""
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    if not 0 < length <= MAX_BODY:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=8)
    except (UnicodeDecodeError, ValueError):
        return None
    form = dict(pairs)
    return form if len(form) == len(pairs) else None


def init_app(app) -> None:
    app.wsgi_app = FastPath(app, app.wsgi_app)
