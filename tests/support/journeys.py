"""Whole journeys a person makes in the browser, used by many tests."""
from __future__ import annotations

import html
import re


def sign_in(browser, email, password, remember=False, switching=False):
    """From a login page (step 1) through the password step. Asked to sign in again, a
    person lands on the password step of the account signed in; `switching`: another
    person, who first follows its "Not you?" link."""
    shown = re.search(r'data-testid="login-email">([^<]*)<', browser.text)
    shown = html.unescape(shown.group(1)).lower() if shown else None
    if shown is not None and shown != email.lower():
        assert switching, f"the password step of {shown} is shown, not of {email}"
        browser.get(re.search(r'<a href="([^"]+/identify)">', browser.text).group(1))
    if shown != email.lower():
        browser.submit("/identify", email=email)
    return browser.submit("/password", password=password, remember="on" if remember else None)


def authorize(browser, rp, user, consent=True, pushed=False, **params):
    """Run an authorization request to the relying service's callback; return its parameters.
    pushed: the relying service pushes the request to /par first (RFC 9126)."""
    if pushed:
        response = rp.push(**params)
        assert response.status_code == 201, response.get_json()
        browser.get(rp.pushed_url(response.get_json()["request_uri"]))
    else:
        browser.get(rp.authorize_url(**params))
    if "/identify" in browser.text or 'name="email"' in browser.text:
        sign_in(browser, user.email, user.test_password)
    if "/authorize/consent/" in browser.text:
        browser.submit("/authorize/consent/", button=("decision", "allow" if consent else "deny"))
    return rp.callback_params(browser.url)


def tokens_for(browser, rp, user, **params):
    callback = authorize(browser, rp, user, **params)
    response = rp.redeem(callback["code"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def signed_in(app, who, remember=False):
    """A new browser in which `who` (an identity with test_password) has signed in."""
    from .browser import Browser

    browser = Browser(app)
    browser.get("/login")
    sign_in(browser, who.email, who.test_password, remember=remember)
    return browser
