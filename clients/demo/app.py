"""The demo relying service: one Authlib client, declared once, and five routes.

Everything about the provider except its issuer URL comes from its discovery document,
so pointing the demo at another OpenID provider needs only new settings. With `par` set
it pushes its authorization requests to the provider first (RFC 9126).
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import secrets
import threading
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests
from authlib.integrations.flask_client import OAuth, OAuthError
from authlib.integrations.requests_client.oauth2_session import OAuth2ClientAuth
from authlib.oauth2.rfc7523 import PrivateKeyJWT, private_key_jwt_sign
from flask import Flask, flash, redirect, render_template, request, session, url_for
from joserfc.jwk import import_key
from werkzeug.exceptions import HTTPException

ROOT = Path(__file__).resolve().parents[2]
ISSUER_DEFAULT = "http://localhost:5000"
CLAIMS_SHOWN = ("iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "amr", "acr", "sid",
                "email", "email_verified", "name")
TIME_CLAIMS = {"exp", "iat", "auth_time", "expires_at", "updated_at"}
# What the demo signs its client assertions with, by the type of its private key.
ASSERTION_ALGS = {"RSA": "RS256", "EC": "ES256", "OKP": "Ed25519"}

log = logging.getLogger(__name__)


class DemoError(Exception):
    """A failure to show the user as a page: a title and a sentence, no stack trace."""

    def __init__(self, title: str, description: str = ""):
        super().__init__(title)
        self.title = title
        self.description = description


class ShortLivedAssertion(PrivateKeyJWT):
    """private_key_jwt as Authlib signs it, but made to live a minute, not Authlib's hour:
    an assertion serves one request, and Tunnus refuses one that lives longer than 5 min."""

    def sign(self, auth, token_endpoint):
        return private_key_jwt_sign(auth.client_secret, client_id=auth.client_id, token_endpoint=token_endpoint,
                                    header=self.headers, alg=self.alg, expires_in=60)


def load_settings() -> dict:
    path = Path(os.environ.get("DEMO_CONFIG") or ROOT / "instance" / "demo.json")
    stored = json.loads(path.read_text()) if path.exists() else {}
    settings = {
        "issuer": (os.environ.get("DEMO_ISSUER") or stored.get("issuer") or ISSUER_DEFAULT).rstrip("/"),
        "client_id": os.environ.get("DEMO_CLIENT_ID") or stored.get("client_id"),
        "client_secret": os.environ.get("DEMO_CLIENT_SECRET") or stored.get("client_secret"),
        "private_key": os.environ.get("DEMO_PRIVATE_KEY"),
        "port": int(os.environ.get("DEMO_PORT", "5001")),
        "par": os.environ.get("DEMO_PAR", str(stored.get("par", ""))).lower() in ("1", "true", "yes"),
    }
    if settings["private_key"]:
        settings["client_secret"] = None  # a client with keys has no secret
    if not settings["client_id"] or not (settings["client_secret"] or settings["private_key"]):
        raise SystemExit(f"No client credentials: {path} does not exist or lacks them.\n"
                         "Run `make run` first (it writes that file), or set DEMO_CLIENT_ID and DEMO_CLIENT_SECRET "
                         "(or DEMO_PRIVATE_KEY).")
    return settings


def _credentials(settings: dict) -> dict:
    """The client secret, or with a private key (a JWK file) private_key_jwt: a fresh
    assertion signed for each token request, its aud the issuer identifier."""
    if not settings.get("private_key"):
        return {"client_secret": settings["client_secret"], "auth_method": "client_secret_basic"}
    key = import_key(json.loads(Path(settings["private_key"]).read_text()))
    key.ensure_kid()  # without one, its RFC 7638 thumbprint: what Tunnus calls the public key too
    signer = ShortLivedAssertion(settings["issuer"], headers={"kid": key.kid}, alg=ASSERTION_ALGS[key.key_type])
    return {"client_secret": key, "client_auth_methods": [signer], "token_endpoint_auth_method": signer.name,
            "auth_method": signer}


def create_app(settings: dict | None = None) -> Flask:
    settings = settings or load_settings()
    base = f"http://127.0.0.1:{settings['port']}"
    app = Flask(__name__)
    app.config.update(
        # A new key each start: restarting the demo signs everyone out, which suits a demo.
        SECRET_KEY=secrets.token_hex(32),
        # Cookies are scoped by host, not port: the default name would collide with
        # whatever else runs on 127.0.0.1, the provider included.
        SESSION_COOKIE_NAME="tunnus_demo_session",
        # Lax keeps the cookie off cross-site POSTs, which is this demo's CSRF defence
        # for /refresh and /logout, yet sends it on the provider's redirect back to us.
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        DEMO_REDIRECT_URI=f"{base}/callback",
        DEMO_POST_LOGOUT_URI=f"{base}/",
    )

    oauth = OAuth(app)
    credentials = _credentials(settings)
    oauth.register(
        "tunnus",
        client_id=settings["client_id"],
        client_secret=credentials["client_secret"],
        client_auth_methods=credentials.get("client_auth_methods"),
        server_metadata_url=settings["issuer"] + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid profile email offline_access", "code_challenge_method": "S256",
                       "token_endpoint_auth_method": credentials.get("token_endpoint_auth_method")},
    )
    tunnus = oauth.tunnus

    # Tokens stay in this process, not in the cookie: they would overflow its 4 KB and
    # the browser has no business holding a refresh token. The cookie holds a key here.
    signed_in: dict[str, dict] = {}
    # Tunnus takes a refresh token presented twice as stolen and revokes the whole
    # login's tokens, so a double-clicked "Refresh tokens" must not send it twice.
    refreshing = threading.Lock()

    def current() -> dict | None:
        return signed_in.get(session.get("key", ""))

    def userinfo(token: dict, sub: str) -> dict:
        """The UserInfo answer, if about the person the ID token names: OIDC Core §5.3.4
        says its claims must not be used otherwise (Authlib does not check)."""
        claims = dict(tunnus.userinfo(token=token))
        if claims.get("sub") != sub:
            raise DemoError("UserInfo is about someone else",
                            f"The ID token names {sub}, UserInfo {claims.get('sub')}.")
        return claims

    @app.template_filter("when")
    def when(value):
        if not isinstance(value, (int, float)):
            return value
        moment = dt.datetime.fromtimestamp(value, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        delta = int(value - time.time())
        if abs(delta) < 2:
            return f"{moment} (now)"
        return f"{moment} (in {delta} s)" if delta > 0 else f"{moment} ({-delta} s ago)"

    @app.template_filter("claim")
    def claim(value):
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return json.dumps(value) if isinstance(value, bool) else value

    @app.route("/")
    def index():
        # The provider sends the browser back here after logout, with our state.
        if "state" in request.args:
            try:
                tunnus.validate_logout_response()
            except OAuthError:
                raise DemoError("Logout response not recognised",
                                "Its state does not match a logout started in this browser.")
            flash("You have signed out of the demo and of Tunnus.")
            return redirect(url_for("index"))
        return render_template("index.html", user=current(), claims_shown=CLAIMS_SHOWN, time_claims=TIME_CLAIMS)

    @app.route("/login")
    def login():
        _forget_sign_ins_begun_before(session, tunnus.name)
        if not settings.get("par"):
            return tunnus.authorize_redirect(app.config["DEMO_REDIRECT_URI"])
        # RFC 9126: the request goes to the provider directly, authenticated as at /token
        # (secret or assertion), and the browser carries only a reference to it.
        started = tunnus.create_authorization_url(app.config["DEMO_REDIRECT_URI"])
        tunnus.save_authorize_data(redirect_uri=app.config["DEMO_REDIRECT_URI"], **started)
        metadata = tunnus.load_server_metadata()
        pushed = requests.post(metadata["pushed_authorization_request_endpoint"],
                               data=dict(parse_qsl(urlsplit(started["url"]).query)),
                               auth=OAuth2ClientAuth(settings["client_id"], credentials["client_secret"],
                                                     credentials["auth_method"]), timeout=10)
        pushed.raise_for_status()
        return redirect(metadata["authorization_endpoint"] + "?" + urlencode(
            {"client_id": settings["client_id"], "request_uri": pushed.json()["request_uri"]}))

    @app.route("/callback")
    def callback():
        if "code" not in request.args and "error" not in request.args:
            return redirect(url_for("index"))
        # RFC 9207: a provider that announces `iss` in authorization responses must send
        # the right one, or the response may come from another provider (mix-up attack).
        # Authlib does not check it, so we do, errors included.
        metadata = tunnus.load_server_metadata()
        if metadata.get("authorization_response_iss_parameter_supported") or "iss" in request.args:
            if request.args.get("iss") != metadata["issuer"]:
                raise DemoError("Response from an unexpected issuer",
                                f"Expected iss {metadata['issuer']}, got {request.args.get('iss', 'none')}.")
        if "error" in request.args:
            # An error answers a sign-in of ours only with its state (RFC 6749 §4.1.2.1):
            # anyone can send a browser here with an error and words of their own choosing
            # ("Your account is locked. Call +358 ..."), or cut short a sign-in under way.
            # Authlib raises for an error before it looks at the state, so we look first.
            state = request.args.get("state")
            if tunnus.framework.get_state_data(session, state) is None:
                return _provider_error("mismatching_state", None)
            tunnus.framework.clear_state_data(session, state)
            return _provider_error(request.args["error"], request.args.get("error_description"))
        token = tunnus.authorize_access_token()
        key = secrets.token_urlsafe(24)
        claims = dict(token["userinfo"])
        signed_in[key] = {"token": token, "claims": claims, "id_token": token["id_token"],
                          "userinfo": userinfo(token, claims["sub"])}
        signed_in.pop(session.get("key", ""), None)
        session["key"] = key
        return redirect(url_for("index"))

    @app.post("/refresh")
    def refresh():
        with refreshing:
            user = current()
            if user is None:
                return redirect(url_for("index"))
            old = user["token"]
            if not old.get("refresh_token"):
                raise DemoError("No refresh token", "Tunnus did not issue one; was offline_access granted?")
            token = tunnus.fetch_access_token(grant_type="refresh_token", refresh_token=old["refresh_token"])
            # Tunnus rotates refresh tokens; a provider that does not would send none back.
            token.setdefault("refresh_token", old["refresh_token"])
            if "id_token" in token:
                # A refreshed ID token answers no authentication request of ours, so it
                # has no nonce to check (OIDC Core §12.2), but it must be about the same user.
                claims = dict(tunnus.parse_id_token(token, nonce=None))
                if claims.get("sub") != user["claims"].get("sub"):
                    raise DemoError("Refreshed ID token is about someone else",
                                    f"sub {user['claims'].get('sub')} became {claims.get('sub')}.")
                user.update(claims=claims, id_token=token["id_token"])
            user["token"] = token
            user["userinfo"] = userinfo(token, user["claims"]["sub"])
        flash(f"Tokens refreshed. The new access token expires {when(token['expires_at'])}.")
        return redirect(url_for("index"))

    @app.post("/logout")
    def logout():
        user = signed_in.pop(session.pop("key", ""), None)
        if user is None:
            return redirect(url_for("index"))
        # RP-initiated logout: Authlib adds a random state and keeps it in our session.
        return tunnus.logout_redirect(post_logout_redirect_uri=app.config["DEMO_POST_LOGOUT_URI"],
                                      id_token_hint=user["id_token"], client_id=tunnus.client_id)

    @app.errorhandler(DemoError)
    def demo_error(error):
        return render_template("error.html", title=error.title, description=error.description), 400

    @app.errorhandler(OAuthError)
    def oauth_error(error):
        return _provider_error(error.error, error.description)

    @app.errorhandler(requests.RequestException)
    def unreachable(error):
        log.warning("Talking to %s failed: %s", settings["issuer"], error)
        if error.response is not None:
            return render_template("error.html", title="Tunnus answered with an error",
                                   description=f"HTTP {error.response.status_code} from {error.response.url}: "
                                               f"{error.response.text[:300]}"), 502
        return render_template("error.html", title="Tunnus did not answer",
                               description=f"Could not talk to {settings['issuer']}. Is `make run` running?"), 502

    @app.errorhandler(Exception)
    def unexpected(error):
        if isinstance(error, HTTPException):
            return error
        # The details belong in the terminal, not in the browser.
        log.exception("Unhandled error")
        return render_template("error.html", title="Something went wrong",
                               description="The terminal running the demo shows what."), 500

    return app


# Sign-ins begun in this browser and not finished that are remembered (in its cookie), the
# newest first: a second tab's. Before, every one was kept an hour, and some twenty of them
# made the cookie longer than browsers keep (4 kB): then none worked, and the signed-in
# person's key went with it.
SIGN_INS_KEPT = 2


def _forget_sign_ins_begun_before(session, name: str) -> None:
    prefix = f"_state_{name}_"
    begun = sorted((key for key in session if key.startswith(prefix)), key=lambda key: session[key].get("exp", 0))
    for key in begun[:max(len(begun) - SIGN_INS_KEPT + 1, 0)]:
        session.pop(key)


def _provider_error(error: str | None, description: str | None):
    titles = {
        "access_denied": "You chose not to sign in",
        "login_required": "You are not signed in to Tunnus",
        "consent_required": "Tunnus needs your consent first",
        "mismatching_state": "This sign-in attempt is stale",
    }
    title = titles.get(error or "", "Tunnus refused the request")
    if error == "mismatching_state":
        description = "It does not match a sign-in started in this browser, or the demo restarted since."
    return render_template("error.html", title=title, description=description, error=error), 400
