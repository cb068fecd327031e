"""Two-step verification as a person does it: an authenticator app is pyotp with the
secret read off the setup page, on Tunnus's (movable) clock."""
from __future__ import annotations

import re

import pyotp

from idp.services import clock
from tests.support.browser import Browser
from tests.support.journeys import sign_in


def app_code(secret: str, steps_later: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.timestamp() + 30 * steps_later)


def wrong_code(secret: str) -> str:
    """A code that is none of the three the window accepts."""
    window = {app_code(secret, offset) for offset in (-1, 0, 1)}
    return next(code for code in (f"{n:06d}" for n in range(0, 10**6, 7919)) if code not in window)


def secret_on(page_text: str) -> str:
    return re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page_text).group(1).replace(" ", "")


def recovery_codes_on(page_text: str) -> list[str]:
    return re.findall(r"<li><code>([a-z0-9-]+)</code></li>", page_text)


def new_recovery_codes(browser, user, page: str, unused: int) -> list[str]:
    """On `page` (the app's or the passkeys'): ask for new recovery codes, first with a wrong
    password (refused), then with the right one; returns the new codes."""
    browser.get(page)
    assert f"You have {unused} unused recovery codes." in browser.text
    browser.submit("/account/totp/recovery-codes", regenerate_password="not my password")
    assert browser.page.status_code == 400 and "Your current password is not correct." in browser.text
    browser.submit("/account/totp/recovery-codes", regenerate_password=user.test_password)
    codes = recovery_codes_on(browser.text)
    assert len(codes) == 10
    return codes


def enrol(browser, user) -> tuple[str, list[str]]:
    """From a signed-in browser: set TOTP up; returns the secret and the recovery codes.
    The clock then moves to the next step, as it would before the next sign-in."""
    browser.get("/account/totp/setup")
    secret = secret_on(browser.text)
    browser.submit("/account/totp/setup", code=app_code(secret), current_password=user.test_password)
    codes = recovery_codes_on(browser.text)
    assert len(codes) == 10, browser.text
    clock.advance(30)
    return secret, codes


def enrolled(app, user) -> tuple[str, list[str]]:
    """Set TOTP up for `user` in a browser of its own."""
    elsewhere = Browser(app)
    elsewhere.get("/login")
    sign_in(elsewhere, user.email, user.test_password)
    return enrol(elsewhere, user)


def sign_in_to_code_step(browser, user):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    assert "/totp" in browser.url, browser.url
    return browser.page
