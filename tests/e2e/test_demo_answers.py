"""What the demo relying service (clients/demo) takes from the provider and from whoever
sends a browser to it, against Tunnus served over real HTTP: integrators copy it."""
from __future__ import annotations

import json
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from clients.demo.app import create_app as create_demo_app
from idp.services import clients
from tests.support.browser import Browser
from tests.support.journeys import sign_in
from tests.support.raw_http import RawAnswers

DEMO = "http://127.0.0.1:5001"
WORDS = "Your account is locked. Call support at +358 40 123 4567"


@pytest.fixture
def demo_app(app, live_server):
    client, secret = clients.create("Demopalvelu", [f"{DEMO}/callback"], [f"{DEMO}/"], first_party=True)
    return create_demo_app({"issuer": live_server, "client_id": client.client_id, "client_secret": secret,
                            "port": 5001, "par": False})


def _to_tunnus(demo) -> str:
    location = urlsplit(demo.get("/login").headers["Location"])
    return f"{location.path}?{location.query}"


def _back_from_tunnus(app, demo, user) -> str:
    browser = Browser(app)
    browser.get(_to_tunnus(demo))
    sign_in(browser, user.email, user.test_password)
    back = urlsplit(browser.url)
    assert back.path == "/callback", browser.url
    return f"/callback?{back.query}"


def test_an_error_answering_no_sign_in_of_this_browser_is_not_shown_in_the_senders_words(app, demo_app, live_server):
    """Before, anyone could send a browser to the demo's /callback with an error and a
    sentence of their choosing, and the demo showed it as its own."""
    demo = demo_app.test_client()
    forged = demo.get("/callback?" + urlencode({"error": "access_denied", "error_description": WORDS,
                                                "state": "not-ours", "iss": live_server}))
    assert forged.status_code == 400 and WORDS not in forged.get_data(as_text=True)
    assert "This sign-in attempt is stale" in forged.get_data(as_text=True)

    state = parse_qs(urlsplit(_to_tunnus(demo)).query)["state"][0]
    refused = demo.get("/callback?" + urlencode({"error": "access_denied", "error_description": "The person said no.",
                                                 "state": state, "iss": live_server}))
    assert "You chose not to sign in" in refused.get_data(as_text=True)


def test_a_userinfo_answer_about_someone_else_is_not_taken(app, demo_app, user):
    """OIDC Core §5.3.4; Authlib does not check. Before, it was shown as the person's."""
    demo = demo_app.test_client()
    body = json.dumps({"sub": "someone-else", "email": "mallory@evil.example"}).encode()
    other = RawAnswers(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                       b"Connection: close\r\n\r\n%s" % (len(body), body))
    try:
        tunnus = demo_app.extensions["authlib.integrations.flask_client"].tunnus
        tunnus.load_server_metadata()["userinfo_endpoint"] = other.url("/userinfo")  # a provider gone wrong
        answer = demo.get(_back_from_tunnus(app, demo, user))
    finally:
        other.stop()
    assert answer.status_code == 400 and "UserInfo is about someone else" in answer.get_data(as_text=True)
    assert "mallory@evil.example" not in demo.get("/").get_data(as_text=True)


def test_sign_ins_begun_and_left_do_not_overflow_the_cookie(app, demo_app, user):
    """Before, each was kept an hour: after some twenty the cookie passed the 4 kB browsers
    keep, and no sign-in worked."""
    demo = demo_app.test_client()
    for _ in range(30):
        demo.get("/login")
    cookie = SimpleCookie(demo.get("/login").headers["Set-Cookie"])
    assert len(cookie["tunnus_demo_session"].value) < 2000
    assert demo.get(_back_from_tunnus(app, demo, user)).status_code == 302
    assert user.email in demo.get("/").get_data(as_text=True)
