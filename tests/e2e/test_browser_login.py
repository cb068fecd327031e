"""Signing in with a real Chromium against Tunnus served over HTTP.

These tests see what a person sees: labelled fields, buttons, messages and cookies,
with the relying service's redirect_uri (https://rp.example/callback) intercepted in
the browser, since nothing listens there.
"""
from __future__ import annotations

import json
import re
import time
import urllib.request
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from playwright.sync_api import expect

EMAIL = "maija.meikalainen@example.fi"  # typed as people do; the account was created in mixed case
WRONG_PASSWORD_MESSAGE = "The email address or password is incorrect, or the account is locked."
REMEMBER_ME_DAYS = 30
SCREENSHOT = "/tmp/tunnus-password-step.png"


@pytest.fixture
def rp_callbacks(page) -> list[str]:
    """Every URL the browser is sent to on rp.example, answered with a tiny page."""
    seen: list[str] = []

    def answer(route):
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>RP</title><p>Back at the RP")

    page.route("https://rp.example/**", answer)
    return seen


def session_cookie(context) -> dict:
    cookies = [c for c in context.cookies() if c["name"] == "tunnus_session"]
    assert len(cookies) == 1, context.cookies()
    return cookies[0]


def fetch_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def enter_email(page, email: str) -> None:
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_test_id("login-email")).to_have_text(email)


def enter_password(page, password: str, remember: bool = False) -> None:
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Remember me on this computer").set_checked(remember)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_identifier_first_login_with_remember_me_completes_the_code_flow(page, context, live_server, rp,
                                                                         rp_callbacks, user):
    issuer, password = live_server, user.test_password
    page.goto(live_server + rp.authorize_url())

    email_field = page.get_by_label("Email address")
    expect(email_field).to_be_visible()
    expect(page.get_by_role("button", name="Continue")).to_be_visible()
    enter_email(page, EMAIL)

    expect(page.get_by_role("link", name="Not you?")).to_be_visible()
    expect(page.get_by_label("Remember me on this computer")).not_to_be_checked()
    page.screenshot(path=SCREENSHOT, full_page=True)

    enter_password(page, "not my password")
    expect(page.get_by_role("alert")).to_have_text(WRONG_PASSWORD_MESSAGE)
    expect(page.get_by_test_id("login-email")).to_have_text(EMAIL)

    enter_password(page, password, remember=True)
    expect(page.get_by_role("heading", name="Kirjasto wants to use your Tunnus account")).to_be_visible()
    page.get_by_role("button", name="Allow").click()
    expect(page).to_have_url(re.compile(r"^https://rp\.example/callback\?"))

    assert len(rp_callbacks) == 1
    callback = urlsplit(rp_callbacks[0])
    params = {k: v[0] for k, v in parse_qs(callback.query).items()}
    assert params["code"]
    assert params["state"] == rp.state
    assert params["iss"] == issuer

    cookie = session_cookie(context)
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"
    assert abs(cookie["expires"] - (time.time() + REMEMBER_ME_DAYS * 86400)) < 300

    response = rp.redeem(params["code"])
    assert response.status_code == 200, response.get_json()
    discovery = fetch_json(f"{issuer}/.well-known/openid-configuration")
    assert discovery["issuer"] == issuer
    keys = KeySet.import_key_set(fetch_json(discovery["jwks_uri"]))
    id_token = jwt.decode(response.get_json()["id_token"], keys, algorithms=["RS256", "ES256"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": rp.client_id},
        nonce={"essential": True, "value": rp.nonce},
        sub={"essential": True, "value": user.sub},
        exp={"essential": True}, iat={"essential": True},
    ).validate(id_token.claims)


def test_not_you_returns_to_email_step_and_without_remember_me_the_cookie_ends_with_the_browser(
        page, context, live_server, user):
    password = user.test_password
    page.goto(live_server + "/login")
    enter_email(page, "someone.else@example.fi")

    page.get_by_role("link", name="Not you?").click()
    email_field = page.get_by_label("Email address")
    expect(email_field).to_have_value("someone.else@example.fi")
    expect(page.get_by_role("button", name="Continue")).to_be_visible()

    enter_email(page, EMAIL)
    enter_password(page, password, remember=False)
    expect(page).to_have_url(f"{live_server}/account")
    expect(page.get_by_role("heading", name="Your account", exact=True)).to_be_visible()

    cookie = session_cookie(context)
    assert cookie["expires"] == -1
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax"


def test_log_out_button_in_header_signs_out(page, live_server, user):
    password = user.test_password
    page.goto(live_server + "/login")
    enter_email(page, EMAIL)
    enter_password(page, password)
    expect(page).to_have_url(f"{live_server}/account")

    page.get_by_role("banner").get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="You have logged out")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)

    page.goto(live_server + "/account")
    expect(page.get_by_label("Email address")).to_be_visible()
