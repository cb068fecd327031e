"""The demo relying service (clients/demo) told to push its requests (RFC 9126), against
Tunnus served over real HTTP: the service posts to /par itself, so no test client can
stand in for the server. No browser is needed: the person's steps use the test client."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from clients.demo.app import create_app as create_demo_app
from idp.services import clients
from tests.support.browser import Browser
from tests.support.journeys import sign_in

DEMO = "http://127.0.0.1:5001"


def test_the_demo_pushes_its_request_and_signs_the_person_in(app, live_server, user):
    client, secret = clients.create("Demopalvelu", [f"{DEMO}/callback"], [f"{DEMO}/"], require_par=True)
    demo = create_demo_app({"issuer": live_server, "client_id": client.client_id, "client_secret": secret,
                            "port": 5001, "par": True}).test_client()

    location = urlsplit(demo.get("/login").headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{live_server}/authorize"
    assert set(parse_qs(location.query)) == {"client_id", "request_uri"}

    browser = Browser(app)
    browser.get(f"{location.path}?{location.query}")
    sign_in(browser, user.email, user.test_password)
    browser.submit("/authorize/consent/", button=("decision", "allow"))
    callback = urlsplit(browser.url)
    assert callback.netloc == "127.0.0.1:5001" and "code" in parse_qs(callback.query)
    demo.get(f"{callback.path}?{callback.query}")
    assert user.email in demo.get("/").get_data(as_text=True)
