"""Passkeys as a person uses them through the pages, with the software authenticator
standing in for the browser's WebAuthn and static/passkey.js: it reads the options the
page carries (or fetches them as the script does) and posts the answer in the form."""
from __future__ import annotations

import html
import json
import re

from tests.support.browser import Browser
from tests.support.journeys import sign_in
from tests.support.webauthn_authenticator import Authenticator


def inline_options(page_text: str) -> dict:
    return json.loads(html.unescape(re.search(r'data-options="([^"]+)"', page_text).group(1)))


def fetched_options(browser) -> dict:
    """What the first page's button fetches: {"ceremony": ..., "publicKey": ...}."""
    form = browser.form("/passkey")
    url = html.unescape(re.search(r'data-options-url="([^"]+)"', browser.text).group(1))
    reply = browser.client.post(url, headers={"X-CSRFToken": form["fields"]["csrf_token"]})
    assert reply.status_code == 200, reply.get_data(as_text=True)
    return reply.get_json()


def add(browser, user, authenticator: Authenticator, name: str, **lie):
    """From a signed-in browser: name the passkey, give the password, let the authenticator create it."""
    browser.get("/account/passkeys")
    browser.submit("/account/passkeys/new", name=name, current_password=user.test_password)
    assert "/account/passkeys/new" in browser.url and browser.page.status_code == 200, browser.text
    answer = authenticator.create(inline_options(browser.text), **lie)
    return browser.submit("/account/passkeys/register", credential=json.dumps(answer))


def added(app, user, authenticator: Authenticator, name: str = "My phone"):
    """Add a passkey for `user` in a browser of its own."""
    elsewhere = Browser(app)
    elsewhere.get("/login")
    sign_in(elsewhere, user.email, user.test_password)
    add(elsewhere, user, authenticator, name)
    assert f"The passkey {name} was added." in elsewhere.text, elsewhere.text


def first_step_answer(browser, authenticator: Authenticator, **lie) -> tuple[str, str]:
    """On the first login page: press 'Sign in with a passkey'; (ceremony, answer JSON)."""
    options = fetched_options(browser)
    return options["ceremony"], json.dumps(authenticator.get(options["publicKey"], **lie))


def sign_in_with_passkey(browser, authenticator: Authenticator, **lie):
    ceremony, answer = first_step_answer(browser, authenticator, **lie)
    return browser.submit("/passkey", ceremony=ceremony, credential=answer)


def verify(browser, authenticator: Authenticator, **lie):
    """On a passkey verification page (second factor or step-up): use the passkey."""
    answer = authenticator.get(inline_options(browser.text), **lie)
    return browser.submit("/passkey", credential=json.dumps(answer))
