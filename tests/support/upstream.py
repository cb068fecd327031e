"""A second Tunnus on a real port as the upstream OpenID provider (the bank ID of the
tests), and a browser that follows redirects between it and the Tunnus under test.

The upstream runs in a thread under werkzeug's server with its own SQLite file, keys and
issuer http://127.0.0.1:<port>. Its token endpoint answers through `Tampering`, a WSGI
wrapper a test may ask to rewrite the next ID token, as a broken or hostile provider
would; everything else is the real upstream over real HTTP.
"""
from __future__ import annotations

import base64
import json
import secrets
import threading
from urllib.parse import urljoin, urlsplit

import requests
from joserfc import jws
from werkzeug.serving import make_server

from idp import create_app, schema_migrations
from idp.extensions import db
from idp.models import Identity
from idp.services import clients, identities

from .browser import Browser
from .journeys import sign_in

CALLBACK_KEY = "pankki"
CALLBACK_URL = f"http://localhost/identify/{CALLBACK_KEY}/callback"
PASSWORD = "upstream horse battery staple"


class Tampering:
    """WSGI wrapper: with `rewrite` set, the ID token of successful token responses is replaced
    by rewrite(id_token), and `token_changes` are merged into them; `answers` maps a path
    to the body served there instead (a broken discovery document or JWKS). The upstream
    itself stays untouched."""

    def __init__(self, app):
        self.app = app
        self.reset()

    def reset(self):
        self.rewrite = None
        self.token_changes = {}
        self.answers = {}

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO")
        if path in self.answers:
            body = self.answers[path]
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        if path != "/token" or (self.rewrite is None and not self.token_changes):
            return self.app(environ, start_response)
        answer = {}

        def keep(status, headers, exc_info=None):
            answer.update(status=status, headers=headers)
            return lambda data: None

        body = b"".join(self.app(environ, keep))
        if answer["status"].startswith("200"):
            token = json.loads(body)
            if self.rewrite is not None:
                token["id_token"] = self.rewrite(token["id_token"])
            body = json.dumps({**token, **self.token_changes}).encode()
        headers = [(k, v) for k, v in answer["headers"] if k.lower() != "content-length"]
        start_response(answer["status"], headers + [("Content-Length", str(len(body)))])
        return [body]


class UpstreamTunnus:
    """The upstream provider: people who can identify there and the client Tunnus uses."""

    def __init__(self, folder, redis_url: str | None, *, host: str = "127.0.0.1", callback_url: str = CALLBACK_URL):
        """`host`: another loopback address keeps a real browser's cookies of the two apart
        (cookies ignore the port)."""
        self.server = make_server(host, 0, None, threaded=True)
        self.issuer = f"http://{host}:{self.server.server_port}"
        self.app = create_app({
            "IDP_ISSUER": self.issuer,
            "IDP_DATABASE_URL": f"sqlite:///{folder / 'upstream.sqlite3'}",
            "IDP_KEYS_DIR": str(folder / "keys"),
            "IDP_SECRET_KEY": "upstream-" + secrets.token_hex(16),
            "IDP_SMTP_URL": None,
            # The limiter is one object for every app in the process: same store as the tests.
            "IDP_REDIS_URL": redis_url,
            "IDP_ARGON2_MEMORY_KIB": 1024,
            "IDP_ARGON2_TIME_COST": 1,
        })
        self.tampering = Tampering(self.app)
        with self.app.app_context():
            schema_migrations.upgrade()
            self.client, self.secret = clients.create("Tunnus", [callback_url], first_party=True)
            self.client_id = self.client.client_id
            db.session.expunge_all()
        self.server.app = self.tampering
        self.thread = threading.Thread(target=self.server.serve_forever, name="upstream-tunnus", daemon=True)
        self.thread.start()

    def person(self, email: str, name: str) -> str:
        """Someone with an account (verified address) at the upstream; returns their `sub` there."""
        with self.app.app_context():
            found = Identity.by_email(email) or identities.create(email, PASSWORD, name, verified=True)
            return found.sub

    def sign(self, claims: dict, alg: str = "RS256") -> str:
        """An ID token with these claims, signed by the upstream's own current key. JSON's
        escapes carry any string, even half a character, which a hostile provider may send."""
        with self.app.app_context():
            key = self.app.extensions["idp.keys"].signing_key(alg)
            return jws.serialize_compact({"alg": alg, "typ": "JWT", "kid": key.kid}, json.dumps(claims).encode(),
                                         key.key)

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=10)
        self.server.server_close()


def claims_of(id_token: str) -> dict:
    """The payload of a JWT, unchecked (to build a tampered one from it)."""
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class _Page:
    """A requests response that looks like the Flask test client's, for Browser."""

    def __init__(self, response: requests.Response):
        self.status_code = response.status_code
        self.headers = response.headers
        self._text = response.text

    def get_data(self, as_text=False):
        return self._text if as_text else self._text.encode()


class TwoSiteBrowser(Browser):
    """Browser that also visits the upstream, over real HTTP with its own cookies."""

    def __init__(self, app, upstream: UpstreamTunnus):
        super().__init__(app)
        self.upstream_origin = urlsplit(upstream.issuer).netloc
        self.http = requests.Session()
        self.stop_before: str | None = None  # a URL prefix the browser is not to open

    def _go(self, method, url, data, follow):
        for _ in range(20):
            self.url = url
            parts = urlsplit(url)
            if self.stop_before and urljoin("http://localhost/", url).startswith(self.stop_before):
                return self.page
            if parts.netloc == self.upstream_origin:
                self.page = _Page(self.http.request(method, url, data=data, allow_redirects=False, timeout=30))
            elif parts.netloc in ("", "localhost"):
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                self.page = self.client.open(path, method=method, data=data)
            else:  # a relying service's redirect_uri: stop there, like a test RP would
                return self.page
            if not follow or self.page.status_code not in (301, 302, 303, 307):
                return self.page
            url = urljoin(url, self.page.headers["Location"])
            method, data = "GET", None
        raise AssertionError("redirect loop")


def identify_at_bank(browser: TwoSiteBrowser, email: str):
    """On the upstream's sign-in page: the person proves there who they are."""
    assert urlsplit(browser.url).netloc == browser.upstream_origin, browser.url
    return sign_in(browser, email, PASSWORD)  # signed in there already: its password step
