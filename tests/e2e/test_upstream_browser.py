"""Strong identification in a real Chromium, across two live servers: the Tunnus under
test, and a second Tunnus on another loopback address as the bank ID it trusts.

A relying service demands urn:tunnus:acr:strong; the signed-out person is sent to choose
a provider, signs in at the bank, comes back, is linked to their existing Tunnus account
by the verified address the bank vouches for, and the service's ID token says so.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from idp.methods.levels import ACR_STRONG
from idp.models import UpstreamLink
from idp.services import upstreams
from tests.support.upstream import PASSWORD, UpstreamTunnus

PROVIDER = "Bank ID"
VERIFIED_NAME = "Maija Annikki Meikäläinen"


@pytest.fixture
def bank(tmp_path, base_config, live_server):
    """The bank: its own Tunnus on 127.0.0.2, with Tunnus under test registered as its client."""
    callback = f"{live_server}/identify/{upstreams.key(PROVIDER)}/callback"
    server = UpstreamTunnus(tmp_path, base_config["IDP_REDIS_URL"], host="127.0.0.2", callback_url=callback)
    upstreams.add(PROVIDER, server.issuer, server.client_id, server.secret)
    yield server
    server.stop()


def test_a_service_asking_for_strong_identification_gets_it_through_the_bank(page, live_server, bank, rp, user):
    bank_sub = bank.person(user.email, VERIFIED_NAME)  # the bank vouches for the same verified address
    callbacks: list[str] = []
    page.route("https://rp.example/**", lambda route: (callbacks.append(route.request.url), route.fulfill(
        status=200, content_type="text/html", body="<!doctype html><title>RP</title>")))

    page.goto(live_server + rp.authorize_url(acr_values=ACR_STRONG))
    expect(page.get_by_text("The service asks you to identify yourself strongly")).to_be_visible()
    page.get_by_role("button", name=f"Identify with {PROVIDER}").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(bank.issuer)}/"))
    page.get_by_label("Email address").fill(user.email)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server)}/"))
    expect(page.get_by_role("heading", name="Kirjasto wants to use your Tunnus account")).to_be_visible()
    page.get_by_role("button", name="Allow").click()
    expect(page).to_have_url(re.compile(r"^https://rp\.example/callback\?"))

    params = {k: v[0] for k, v in parse_qs(urlsplit(callbacks[0]).query).items()}
    assert params["state"] == rp.state and params["iss"] == live_server
    response = rp.redeem(params["code"])
    assert response.status_code == 200, response.get_json()
    claims = rp.verify_id_token(response.get_json()["id_token"])
    assert claims["sub"] == user.sub  # the existing account, not a new one
    assert claims["acr"] == ACR_STRONG and claims["amr"] == ["fed"]
    assert claims["name"] == VERIFIED_NAME
    link = UpstreamLink.query.one()
    assert (link.identity_id, link.subject) == (user.id, bank_sub)

    page.goto(live_server + "/account")
    expect(page.locator("#identification")).to_contain_text(f"Identified with {PROVIDER} on")
    expect(page.locator("#identification")).to_contain_text(VERIFIED_NAME)
