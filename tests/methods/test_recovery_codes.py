"""Recovery codes belong to having a second factor, not to the app: a person with only
passkeys gets them with the first passkey, uses one when the passkey is lost, and loses
them with the last second factor."""
import contextlib
import html
import re
import sys
import threading

from idp.methods import passkey, recovery_codes, totp
from idp.methods.levels import ACR_MULTI_FACTOR
from idp.services import clock
from tests.support import passkeys
from tests.support.browser import Browser
from tests.support.journeys import sign_in
from tests.support.races import WAIT, at_once, post, row_locks
from tests.support.totp import app_code, enrol, new_recovery_codes, recovery_codes_on, secret_on
from tests.support.webauthn_authenticator import Authenticator


def signed_in(app, user) -> Browser:
    browser = Browser(app)
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    return browser


def first_passkey_codes(app, user, device) -> list[str]:
    browser = signed_in(app, user)
    passkeys.add(browser, user, device, "My phone")
    assert "The passkey My phone was added." in browser.text and "they are not shown again" in browser.text
    codes = recovery_codes_on(browser.text)
    assert len(set(codes)) == 10
    return codes


def follow(browser, text: str):
    href = re.search(rf'<a href="([^"]+)">{re.escape(text)}</a>', browser.text).group(1)
    return browser.get(html.unescape(href))


def to_recovery_code_page(browser, user, url="/login"):
    browser.get(url)
    sign_in(browser, user.email, user.test_password)
    assert "/passkey/verify" in browser.url and "Use your passkey" in browser.text
    follow(browser, "Use a recovery code instead")
    assert "Recovery code" in browser.text and "Use your authenticator app instead" not in browser.text
    assert "Use a passkey instead" in browser.text


def test_a_person_with_only_a_lost_passkey_signs_in_with_a_recovery_code_once(app, rp, user):
    codes = first_passkey_codes(app, user, Authenticator())
    browser = Browser(app)
    to_recovery_code_page(browser, user, rp.authorize_url())
    browser.submit("/totp/recovery", code=codes[0].upper().replace("-", " "))  # as typed from paper
    if "/authorize/consent/" in browser.text:
        browser.submit("/authorize/consent/", button=("decision", "allow"))
    response = rp.redeem(rp.callback_params(browser.url)["code"])
    claims = rp.verify_id_token(response.get_json()["id_token"])
    assert claims["sub"] == user.sub and claims["amr"] == ["pwd", "otp"] and claims["acr"] == ACR_MULTI_FACTOR

    again = Browser(app)
    to_recovery_code_page(again, user)
    again.submit("/totp/recovery", code=codes[0])
    assert again.page.status_code == 400 and "The recovery code is not correct." in again.text
    again.submit("/totp/recovery", code=codes[1])
    assert "Your account" in again.text


def enrol_keeping_codes(browser, user) -> str:
    """Set TOTP up when the person holds codes already: none are shown; returns the secret."""
    browser.get("/account/totp/setup")
    secret = secret_on(browser.text)
    browser.submit("/account/totp/setup", code=app_code(secret), current_password=user.test_password)
    assert "Two-step verification is on. Your recovery codes still work." in browser.text
    assert recovery_codes_on(browser.text) == []
    clock.advance(30)
    return secret


def delete_passkey(browser, user, name):
    browser.get("/account/passkeys")
    key = re.search(rf'<strong id="passkey-(\d+)">{name}</strong>', browser.text).group(1)
    browser.submit(f"/account/passkeys/{key}/delete", current_password=user.test_password)
    assert f"The passkey {name} was deleted." in browser.text


def code_works(app, user, code, after_password="/passkey/verify") -> bool:
    browser = Browser(app)
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    assert after_password in browser.url, browser.url
    browser.get(re.sub(r"/(passkey/verify|totp)$", "/totp/recovery", browser.url))
    browser.submit("/totp/recovery", code=code)
    return "Your account" in browser.text


def signed_in_with_a_code(app, user, code) -> Browser:
    browser = Browser(app)
    to_recovery_code_page(browser, user)
    browser.submit("/totp/recovery", code=code)
    assert "Your account" in browser.text
    return browser


def test_codes_come_once_with_the_first_passkey_and_stay_with_the_next_factors(app, user):
    browser = signed_in(app, user)
    passkeys.add(browser, user, Authenticator(synced=True), "My phone")
    codes = recovery_codes_on(browser.text)
    assert len(codes) == 10
    passkeys.add(browser, user, Authenticator(), "Security key")
    assert "The passkey Security key was added." in browser.text and recovery_codes_on(browser.text) == []
    enrol_keeping_codes(browser, user)
    assert code_works(app, user, codes[0])


def test_someone_whose_only_factor_is_a_passkey_gets_new_codes_on_the_passkeys_page(app, user):
    """Before, new codes came only with the app: after using up ten (or after IDP_SECRET_KEY
    changed) a lost passkey left no way in but support."""
    codes = first_passkey_codes(app, user, Authenticator())
    browser = signed_in_with_a_code(app, user, codes[0])
    new_codes = new_recovery_codes(browser, user, "/account/passkeys", unused=9)
    assert not set(new_codes) & set(codes)
    assert code_works(app, user, new_codes[0]) and not code_works(app, user, codes[1])


def test_removing_the_last_passkey_without_totp_removes_the_codes(app, user):
    browser = signed_in(app, user)
    passkeys.add(browser, user, Authenticator(), "My phone")
    codes = recovery_codes_on(browser.text)
    secret = enrol_keeping_codes(browser, user)
    browser.get("/account/totp")
    browser.submit("/account/totp/disable", current_password=user.test_password, code=app_code(secret))
    assert "Two-step verification is off." in browser.text
    assert code_works(app, user, codes[0])  # the passkey is left: the codes stay

    delete_passkey(browser, user, "My phone")
    _, new_codes = enrol(browser, user)  # no codes were left, so TOTP brings new ones
    assert not set(new_codes) & set(codes)
    assert not code_works(app, user, codes[1], after_password="/totp")


def test_turning_totp_off_without_passkeys_removes_the_codes(app, user):
    browser = signed_in(app, user)
    secret, codes = enrol(browser, user)
    passkeys.add(browser, user, Authenticator(), "My phone")
    assert recovery_codes_on(browser.text) == []  # the app's codes still stand
    delete_passkey(browser, user, "My phone")
    assert code_works(app, user, codes[0], after_password="/totp")

    browser.get("/account/totp")
    browser.submit("/account/totp/disable", current_password=user.test_password, code=app_code(secret))
    assert "Two-step verification is off." in browser.text
    passkeys.add(browser, user, Authenticator(), "Security key")
    new_codes = recovery_codes_on(browser.text)
    assert len(new_codes) == 10 and not set(new_codes) & set(codes)
    assert not code_works(app, user, codes[1])


@row_locks
def test_the_app_and_the_last_passkey_removed_at_once_take_the_codes_with_them(app, user, monkeypatch):
    """Two tabs, one turning the app off, the other deleting the only passkey. Before, each
    saw the other factor still there, and the codes outlived both."""
    browser = signed_in(app, user)
    secret, _ = enrol(browser, user)
    passkeys.add(browser, user, Authenticator(), "My phone")
    browser.get("/account/passkeys")
    delete = post(app, browser, "/delete", current_password=user.test_password)
    browser.get("/account/totp")
    disable = post(app, browser, "/account/totp/disable", current_password=user.test_password,
                   code=app_code(secret))
    # Each removal waits, once it has looked for the other factor, until the other has too.
    looked = threading.Barrier(2, timeout=WAIT)

    def looking(original, caller):
        def wrapped(identity):
            found = original(identity)
            if sys._getframe(1).f_code.co_name == caller:
                with contextlib.suppress(threading.BrokenBarrierError):
                    looked.wait()
            return found
        return wrapped
    monkeypatch.setattr(passkey, "has_passkeys", looking(passkey.has_passkeys, "disable"))
    monkeypatch.setattr(totp, "enabled", looking(totp.enabled, "delete"))
    assert [answer.status_code for answer in at_once(disable, delete)] == [302, 302]
    assert recovery_codes.left(user) == 0
