"""A passkey in real Chromium: its virtual authenticator (the CDP WebAuthn domain) stands
in for a phone with a fingerprint reader, so static/passkey.js and the browser's own
WebAuthn run as they do for people.

WebAuthn refuses IP addresses as the RP ID, so this server's issuer is
http://localhost:PORT (localhost is a secure context) rather than 127.0.0.1.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from idp.methods.levels import ACR_MULTI_FACTOR

EMAIL = "maija.meikalainen@example.fi"


@pytest.fixture
def issuer(http_server) -> str:
    return f"http://localhost:{http_server.server_port}"


@pytest.fixture
def authenticator(context, page):
    """A platform authenticator that holds passkeys and verifies the person at once."""
    cdp = context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    return cdp, added["authenticatorId"]


def test_add_a_passkey_then_sign_in_with_it_alone(page, live_server, authenticator, rp, user):
    cdp, authenticator_id = authenticator
    page.goto(live_server + "/login")
    page.get_by_label("Email address").fill(EMAIL)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password", exact=True).fill(user.test_password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(f"{live_server}/account")

    page.get_by_role("link", name="Add a passkey").click()
    page.get_by_label("Name of the passkey").fill("Chromium")
    page.get_by_label("Current password").fill(user.test_password)
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Create the passkey").click()
    expect(page.get_by_role("status")).to_have_text("The passkey Chromium was added. You can now sign in with it.")
    # The first passkey brings the recovery codes, shown this once.
    expect(page.get_by_role("list", name="Recovery codes").get_by_role("listitem")).to_have_count(10)
    page.get_by_role("link", name="I have saved the codes. Back to your account").click()
    page.get_by_role("link", name="Manage passkeys").click()
    expect(page.locator("ul.passkeys strong")).to_have_text(["Chromium"])
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})["credentials"]
    assert len(stored) == 1 and stored[0]["isResidentCredential"] is True

    page.get_by_role("banner").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="You have logged out")).to_be_visible()

    callbacks = []
    page.route("https://rp.example/**", lambda route: (callbacks.append(route.request.url), route.fulfill(
        status=200, content_type="text/html", body="<!doctype html><title>RP</title>")))
    page.goto(live_server + rp.authorize_url())
    page.get_by_role("button", name="Sign in with a passkey").click()
    page.get_by_role("button", name="Allow").click()
    expect(page).to_have_url(re.compile(r"^https://rp\.example/callback\?"))

    params = {k: v[0] for k, v in parse_qs(urlsplit(callbacks[0]).query).items()}
    response = rp.redeem(params["code"])
    assert response.status_code == 200, response.get_json()
    claims = rp.verify_id_token(response.get_json()["id_token"])
    # Chromium's virtual authenticator keeps its passkeys on the device (not backup eligible).
    assert claims["sub"] == user.sub and claims["amr"] == ["hwk"] and claims["acr"] == ACR_MULTI_FACTOR
