"""Tunnus, an OpenID Connect identity provider: one identity per email address."""
from __future__ import annotations

import logging
import math
import time
from http.client import responses as reason_phrases
from pathlib import Path

import sqlalchemy as sa
from authlib.oauth2 import OAuth2Error
from flask import Flask, Response, g, jsonify, make_response, render_template, request
from flask.globals import request_ctx
from flask_babel import get_locale, gettext as _, ngettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from . import config as settings, database_timeouts, logging_setup
from .errors import IdpError, JourneyEnded
from .services import time_text
from .services.keys import KeysUnavailable
from .oidc import cors, document_cache, fast_path, token_limits
from .extensions import DATABASE_UNAVAILABLE, babel, csrf, db, limiter
from .web import access_log, input_checks, metrics_endpoint, proxy, request_id, security_headers
from .web.locale import here

ROOT = Path(__file__).resolve().parent.parent
# Protocol endpoints answer errors as OAuth JSON, never as HTML pages.
JSON_PATHS = ("/token", "/par", "/revoke", "/introspect", "/userinfo")

log = logging.getLogger(__name__)


def create_app(config: dict | None = None, keys_required: bool = True) -> Flask:
    """The app. Raises config.ConfigurationError for settings it cannot start with; without
    `keys_required` (the commands that make keys, or use none) it starts without signing keys."""
    app = Flask(__name__, instance_path=str(ROOT / "instance"), template_folder="web/templates",
                static_folder="web/static")
    values = settings.load(config, app.instance_path)
    app.config.update(values)
    logging_setup.configure(values["IDP_LOG_FORMAT"])
    secure = values["IDP_SECURE_COOKIES"]
    if secure is None:
        secure = values["IDP_ISSUER"].startswith("https://")
    secret_keys = settings.secret_keys(values)
    app.config.update(
        SECRET_KEY=secret_keys[0],
        SECRET_KEY_FALLBACKS=secret_keys[1:],
        # itsdangerous signs with the last key and accepts any: a form open across a key
        # change still posts.
        WTF_CSRF_SECRET_KEY=secret_keys[::-1],
        # Flask-WTF refuses an https post without a same-origin Referer; every page says
        # Referrer-Policy: no-referrer (no flow id leaks to other sites), so browsers send
        # none. The token, tied to the session's __Host- SameSite=Lax cookie, is the check.
        WTF_CSRF_SSL_STRICT=False,
        # A day, not Flask-WTF's hour: a form left open (the account page in a tab over
        # lunch) still posts what was typed. Yet finite: the token is tied to this browser's
        # session cookie, which "remember me" keeps for a month, and a token copied from a
        # page should not last that long. Journeys expire on their own (IDP_FLOW_TTL).
        WTF_CSRF_TIME_LIMIT=values["IDP_CSRF_TOKEN_TTL"],
        SQLALCHEMY_DATABASE_URI=values["IDP_DATABASE_URL"],
        SQLALCHEMY_ENGINE_OPTIONS=database_timeouts.engine_options(values),
        # __Host- binds the cookie to this exact origin over https (no Domain, Path=/).
        SESSION_COOKIE_NAME="__Host-tunnus_session" if secure else "tunnus_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=values["IDP_REMEMBER_ME_TTL"],
        # The cookie is written only when it changes: a request that raced a sign-in or a
        # step-up would otherwise send back the cookie with the key just replaced. A
        # remembered login's cookie lasts as long as its session anyway.
        SESSION_REFRESH_EACH_REQUEST=False,
        MAX_CONTENT_LENGTH=64 * 1024,
        RATELIMIT_STORAGE_URI=values["IDP_REDIS_URL"] or "memory://",
        RATELIMIT_KEY_PREFIX="tunnus",
        # Redis down or hanging: count in this process (Flask-Limiter logs a warning) and
        # go back to Redis once it answers, so logins and tokens keep working meanwhile.
        RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 1, "socket_timeout": 1} if values["IDP_REDIS_URL"] else {},
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(app.root_path) / "translations"),
        BABEL_DEFAULT_LOCALE="en",
    )
    input_checks.init_app(app)  # first: its check runs before CSRF's and the limits'
    _init_extensions(app, keys_required)
    _register_blueprints(app)
    _register_errors(app)
    security_headers.init_app(app)
    cors.init_app(app)
    metrics_endpoint.init_app(app)
    request_id.init_app(app)
    access_log.init_app(app)
    document_cache.init_app(app)
    fast_path.init_app(app)
    proxy.init_app(app)  # outermost: every layer sees the client's address
    from .cli import register

    register(app)
    return app


def _init_extensions(app: Flask, keys_required: bool) -> None:
    from . import models  # noqa: F401  (registers the tables with SQLAlchemy)
    from .oidc import server
    from .oidc.endpoints.discovery import metadata
    from .services import keys
    from .web.locale import select_locale

    db.init_app(app)
    with app.app_context():
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
            sa.event.listen(db.engine, "connect", _sqlite_pragmas)
        database_timeouts.init_app(app, db.engine)
    csrf.init_app(app)
    limiter.init_app(app)
    token_limits.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    keystore = keys.open_store(app.config, required=keys_required)
    app.extensions["idp.keys"] = keystore
    app.extensions["idp.server"] = server.build(app, keystore)
    app.extensions["idp.discovery"] = metadata(app.config["IDP_ISSUER"])

    app.jinja_env.filters.update(local_time=time_text.local_time, local_date=time_text.local_date,
                                 duration=time_text.duration)

    @app.context_processor
    def locale():
        return {"current_locale": str(get_locale() or app.config["IDP_DEFAULT_LOCALE"]), "language_return": here}


def _sqlite_pragmas(connection, _record) -> None:
    # WAL lets the embedded setup's several workers read while one writes.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    # SQLite's own lower() folds ASCII only: a search for "äiti" did not find "Äiti". Python's,
    # as PostgreSQL's under a UTF-8 locale, folds every letter. No index is built on lower().
    connection.create_function("lower", 1, lambda text: text.lower() if isinstance(text, str) else text,
                               deterministic=True)


def _register_blueprints(app: Flask) -> None:
    from .oidc.endpoints import (authorize, discovery, end_session, introspection, jwks, par, revocation, token,
                                 userinfo)
    from .web import (account, account_data, account_deletion, account_organisation, account_security, campaign,
                      health, kiosk, legacy_email, locale, login, operator, orgadmin, passkey, passkey_account, pin,
                      recovery, register, totp, upstream, upstream_account)

    for module in (discovery, jwks, authorize, par, token, userinfo, revocation, introspection, end_session):
        app.register_blueprint(module.bp)
        if module is not authorize and module is not end_session:
            csrf.exempt(module.bp)
    for module in (health, metrics_endpoint, login, legacy_email, account, account_organisation, account_security,
                   account_data, account_deletion, locale, orgadmin, register, recovery, campaign, operator, totp, passkey,
                   passkey_account, upstream, upstream_account, kiosk, pin):
        app.register_blueprint(module.bp)


def _register_errors(app: Flask) -> None:
    def respond(status: int, title: str, message: str, oauth_error: str, again: str | None = None) -> Response:
        """`again`: where the page leads back to, usually where the person was (here()),
        instead of to a new sign-in that would lose the service they came from. Never by
        itself after a wait: a page that moves on its own is a time limit nobody was told
        of (WCAG 2.2.1)."""
        if request.path in JSON_PATHS:
            return _protocol_error(status, oauth_error)
        if request_ctx.url_adapter is None:
            # A Host header no URL can be made with (werkzeug's BadHost: a label of 64
            # characters, an empty one): the page's links could not be written, and
            # trying made it a 500 with two tracebacks in the log.
            return Response(f"{title}\n\n{message}\n", status, mimetype="text/plain")
        return make_response(render_template("error.html", title=title, message=message, again=again), status)

    @app.errorhandler(IdpError)
    def domain_error(error: IdpError):
        return respond(error.status, str(error.title), str(error), "invalid_request", getattr(error, "again", None))

    @app.errorhandler(JourneyEnded)
    def journey_ended(error: JourneyEnded):
        from .services import journeys
        from .web.browser import origin

        journeys.refused(error, origin=origin())
        return domain_error(error)

    @app.errorhandler(OAuth2Error)
    def protocol_refusal(error: OAuth2Error):
        # One that no view answers itself: Authlib's refusal of a plain-http URL on a host
        # other than loopback (a proxy that did not say the request came over https, or a
        # caller that went round it), raised as the view reads the request.
        return respond(error.status_code or 400, _("Request not accepted"), _("The request could not be handled."),
                       error.error)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return respond(400, _("The form expired"), _("The page was open too long or was opened in another window. Please try again."), "invalid_request", again=here())

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        if status == 429:
            wait = getattr(error, "retry_after", None) or _retry_after()
            response = respond(429, _("Too many attempts"), _wait_message(wait), "slow_down", again=here())
            response.headers["Retry-After"] = str(wait)
            return response
        if status == 403:
            return respond(403, _("No access"), _("You do not have access to this page."), "access_denied")
        if status == 404:
            return respond(404, _("Page not found"), _("The page you were looking for does not exist."), "invalid_request")
        response = respond(status, _("Request not accepted"), _("The request could not be handled."), "invalid_request")
        if status == 405 and getattr(error, "valid_methods", None):  # RFC 9110 §15.5.6: say which ones
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    def database_unavailable(error):
        if (getattr(getattr(error, "orig", None), "sqlstate", None) or "").startswith("40"):
            # A deadlock or a serialization failure: the database is up and a retry will
            # do, but two requests took locks in different orders (docs/resilience.md).
            log.error("transaction rolled back by the database on %s %s: %s", request.method,
                      request_id.loggable_path(), error)
        else:
            log.warning("database unavailable on %s %s: %s", request.method, request_id.loggable_path(), error)
        try:
            db.session.rollback()
        except sa.exc.SQLAlchemyError:
            pass  # the connection is gone; the pool replaces it once the database is back
        g.login_session = None  # the page header would ask the database who is signed in
        response = respond(503, _("Temporarily unavailable"), _("The service is temporarily unavailable. Please try again in a moment."), "temporarily_unavailable", again=here())
        response.headers["Retry-After"] = "30"
        return response

    for unavailable in DATABASE_UNAVAILABLE:
        app.register_error_handler(unavailable, database_unavailable)

    @app.errorhandler(KeysUnavailable)
    def keys_unavailable(error):
        # The keys folder is gone (a mount lost) or holds no signing key: nothing can be
        # signed or checked until it is back, which is seen within a second.
        log.warning("signing keys unavailable on %s %s: %s", request.method, request_id.loggable_path(), error)
        db.session.rollback()
        g.login_session = None
        response = respond(503, _("Temporarily unavailable"), _("The service is temporarily unavailable. Please try again in a moment."), "temporarily_unavailable", again=here())
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request_id.loggable_path())
        db.session.rollback()
        # The rollback expired what the request had read: the page header would read this
        # browser's session again, which may be gone (the account deleted meanwhile).
        g.login_session = None
        return respond(500, _("Something went wrong"), _("Something went wrong on our side. Please try again in a moment."), "server_error")


def _protocol_error(status: int, oauth_error: str) -> Response:
    """An OAuth error for a program: the HTTP reason phrase as error_description, English
    and plain ASCII as RFC 6749 §5.2 requires (a translated message holds letters it
    forbids, in whichever language the caller's Accept-Language happened to pick), and
    never cached, as every other answer of these endpoints."""
    response = jsonify(error=oauth_error, error_description=reason_phrases.get(status, "Error"))
    response.status_code = status
    response.headers.update({"Cache-Control": "no-store", "Pragma": "no-cache"})
    return response


def _wait_message(seconds: int) -> str:
    """The Retry-After in words: some limits last an hour, and "a minute" would send people
    back to fail again and again."""
    if seconds < 90:
        return _("Too many attempts. Wait a minute and try again.")
    return ngettext("Too many attempts. Try again in %(num)d minute.", "Too many attempts. Try again in %(num)d minutes.",
                    math.ceil(seconds / 60))


def _retry_after() -> int:
    """Seconds until the limit this request broke lets it through again."""
    breached = limiter.current_limit
    try:
        return max(1, int(breached.reset_at - time.time())) if breached else 60
    except Exception:  # the limit store failed since the check: a fair guess beats an error page
        log.warning("could not read the rate limit window; answering Retry-After: 60")
        return 60
