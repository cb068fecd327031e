"""Front-Channel Logout 1.0 in a real Chromium: a relying service on its own port signs
the person in with the code flow, and when they log out at Tunnus the browser loads the
service's logout page in an iframe, with iss, sid and the service's own cookie; then the
browser goes on to the service's post-logout page."""
from __future__ import annotations

import secrets
import threading
import time
from urllib.parse import urlencode

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import expect
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from idp.services import clients
from tests.support.rp import pkce_pair

EMAIL = "maija.meikalainen@example.fi"


class RelyingService:
    """A service on a real port: /callback redeems the code and sets its own session
    cookie; /frontchannel-logout records what the iframe brought; /bye is its goodbye page."""

    def __init__(self, issuer: str):
        self.issuer = issuer
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self.logout_calls: list[dict] = []
        self.id_tokens: list[str] = []
        self.client = self.secret = self.verifier = None
        threading.Thread(target=self.server.serve_forever, name="frontchannel-rp", daemon=True).start()

    def register(self) -> None:
        self.client, self.secret = clients.create(
            "Kirjasto", [f"{self.base}/callback"], [f"{self.base}/bye"],
            first_party=True, frontchannel_logout_uri=f"{self.base}/frontchannel-logout")

    def authorize_url(self) -> str:
        self.verifier, challenge = pkce_pair()
        return f"{self.issuer}/authorize?" + urlencode({
            "response_type": "code", "client_id": self.client.client_id, "redirect_uri": f"{self.base}/callback",
            "scope": "openid email", "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge, "code_challenge_method": "S256"})

    def sid(self) -> str:
        keys = KeySet.import_key_set(requests.get(f"{self.issuer}/jwks", timeout=10).json())
        return jwt.decode(self.id_tokens[-1], keys).claims["sid"]

    @Request.application
    def _app(self, request):
        if request.path == "/callback":
            answer = requests.post(f"{self.issuer}/token", auth=(self.client.client_id, self.secret), timeout=10, data={
                "grant_type": "authorization_code", "code": request.args["code"],
                "redirect_uri": f"{self.base}/callback", "code_verifier": self.verifier})
            self.id_tokens.append(answer.json()["id_token"])
            response = Response("<!doctype html><title>Kirjasto</title><h1>Signed in to Kirjasto</h1>",
                                content_type="text/html")
            response.set_cookie("kirjasto_session", secrets.token_urlsafe(8), httponly=True, samesite="Lax")
            return response
        if request.path == "/frontchannel-logout":
            self.logout_calls.append({"args": request.args.to_dict(), "cookies": dict(request.cookies),
                                      "destination": request.headers.get("Sec-Fetch-Dest")})
            response = Response("<!doctype html><title>Logged out</title>", content_type="text/html")
            response.delete_cookie("kirjasto_session")
            return response
        return Response("<!doctype html><title>Kirjasto</title><h1>Goodbye from Kirjasto</h1>",
                        content_type="text/html")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def kirjasto(live_server, app):
    service = RelyingService(live_server)
    service.register()
    yield service
    service.stop()


def _sign_in_to(page, kirjasto, user) -> None:
    page.goto(kirjasto.authorize_url())
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password", exact=True).fill(user.test_password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Signed in to Kirjasto")).to_be_visible()


def _wait_for(condition, seconds=10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_rp_initiated_logout_loads_the_services_logout_page_then_returns_to_it(page, live_server, kirjasto, user):
    blocked = []
    page.on("console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text
            else None)
    _sign_in_to(page, kirjasto, user)
    sid = kirjasto.sid()

    page.goto(f"{live_server}/logout?" + urlencode({"id_token_hint": kirjasto.id_tokens[-1], "state": "s-42",
                                                    "post_logout_redirect_uri": f"{kirjasto.base}/bye"}))
    expect(page.get_by_role("heading", name="Goodbye from Kirjasto")).to_be_visible()
    assert page.url == f"{kirjasto.base}/bye?state=s-42"
    assert len(kirjasto.logout_calls) == 1
    call = kirjasto.logout_calls[0]
    assert call["args"] == {"iss": live_server, "sid": sid} and call["destination"] == "iframe"
    assert "kirjasto_session" in call["cookies"]  # the service can end its own session
    assert not blocked


def test_logging_out_this_device_on_the_account_page_loads_the_frame(page, live_server, kirjasto, user):
    _sign_in_to(page, kirjasto, user)
    sid = kirjasto.sid()
    page.goto(f"{live_server}/account")
    this_device = page.get_by_role("listitem").filter(has_text="This device")
    this_device.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="You have logged out")).to_be_visible()
    _wait_for(lambda: kirjasto.logout_calls)
    assert kirjasto.logout_calls[0]["args"] == {"iss": live_server, "sid": sid}
    assert page.url.startswith(live_server)  # nowhere to go on to: the person stays on Tunnus


def test_another_person_signing_in_here_logs_the_first_out_of_the_service_and_goes_on(page, live_server, kirjasto,
                                                                                        user):
    """On a shared computer: the first person's service is told in this browser, and the
    next person goes on to their account once its frame has loaded."""
    from idp.services import identities

    _sign_in_to(page, kirjasto, user)
    sid = kirjasto.sid()
    identities.create("toinen@example.fi", "another horse battery staple", "Toinen", verified=True)
    page.goto(f"{live_server}/login")
    page.get_by_label("Email address").fill("toinen@example.fi")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password", exact=True).fill("another horse battery staple")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Your account", exact=True)).to_be_visible()
    assert kirjasto.logout_calls[0]["args"] == {"iss": live_server, "sid": sid}
    assert "kirjasto_session" in kirjasto.logout_calls[0]["cookies"]
