"""What proves a browser's session: a key of its own in the signed cookie, new at each
sign-in and step-up, of which the database keeps only a digest. The session's sid, which
relying services get in ID and logout tokens and the audit trail records, proves nothing
even in a cookie signed with the server's own secret."""
import hashlib

import pytest

from idp.extensions import db
from idp.methods.levels import ACR_MULTI_FACTOR
from idp.models import LoginSession
from tests.support.browser import Browser
from tests.support.journeys import authorize, signed_in
from tests.support.races import clone
from tests.support.totp import app_code

from ..oidc.test_step_up import id_token, password_session_then_enrol


def _cookie(browser, app) -> dict:
    value = browser.client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    return app.session_interface.get_signing_serializer(app).loads(value)


def _with_cookie(app, contents: dict) -> Browser:
    """A browser holding a session cookie with `contents`, signed as the server signs it."""
    browser = Browser(app)
    signed = app.session_interface.get_signing_serializer(app).dumps(contents)
    browser.client.set_cookie(app.config["SESSION_COOKIE_NAME"], signed)
    return browser


def _signed_in(browser) -> bool:
    browser.get("/account")
    return "/account" in browser.url and 'name="email"' not in browser.text


def test_the_sid_a_service_gets_does_not_sign_a_browser_in(app, browser, rp, user):
    sid = id_token(rp, authorize(browser, rp, user))["sid"]
    assert _signed_in(browser)
    assert not _signed_in(_with_cookie(app, {"sid": sid}))
    assert not _signed_in(_with_cookie(app, {"sid": sid, "key": sid}))
    stored = db.session.scalars(db.select(LoginSession)).one()
    assert stored.key_hash == hashlib.sha256(_cookie(browser, app)["key"].encode()).hexdigest() != _cookie(browser, app)["key"]


def test_signing_in_again_and_stepping_up_give_the_browser_a_new_key(app, browser, rp, user):
    authorize(browser, rp, user)
    first = _cookie(browser, app)
    authorize(browser, rp, user, prompt="login")  # the same session, renewed
    renewed = _cookie(browser, app)
    assert renewed["sid"] == first["sid"] and renewed["key"] != first["key"]
    assert not _signed_in(_with_cookie(app, first)) and _signed_in(browser)

    _, secret, _ = password_session_then_enrol(browser, rp, user)
    before_step_up = _cookie(browser, app)
    browser.get(rp.authorize_url(acr_values=ACR_MULTI_FACTOR))
    browser.submit("/login/step-up", code=app_code(secret))
    stepped_up = _cookie(browser, app)
    assert stepped_up["sid"] == first["sid"] and stepped_up["key"] != before_step_up["key"]
    assert not _signed_in(_with_cookie(app, before_step_up)) and _signed_in(browser)


def test_a_session_from_before_keys_serves_its_old_cookie_until_its_next_sign_in(app, browser, rp, user):
    authorize(browser, rp, user)
    sid = _cookie(browser, app)["sid"]
    stored = db.session.scalars(db.select(LoginSession)).one()
    stored.key_hash = None  # as 0028_session_keys left it
    db.session.commit()
    earlier = _with_cookie(app, {"sid": sid, "browser": "b"})  # the cookie the release before wrote
    assert _signed_in(earlier)
    first = _cookie(earlier, app)["key"]
    # Another tab's request with the same old cookie, racing: the same key, so whichever
    # response sets the cookie last, it still serves.
    racing = _with_cookie(app, {"sid": sid, "browser": "b"})
    assert _signed_in(racing) and _cookie(racing, app)["key"] == first

    authorize(earlier, rp, user, prompt="login")  # a random key from now on
    assert _cookie(earlier, app)["key"] != first and _signed_in(earlier)
    assert not _signed_in(_with_cookie(app, {"sid": sid})) and not _signed_in(racing)


def test_a_kiosk_session_from_before_keys_still_serves_its_kiosk_and_ends_at_logout(app):
    from tests.support.kiosk import building, kiosk, pin_login, resident

    house = building()
    screen, a12 = kiosk(app, house), resident(house, "a12@koivukuja.fi", "A 12")
    pin_login(Browser(app), screen, a12)
    stored = db.session.scalars(db.select(LoginSession).where(LoginSession.kiosk_client_id.is_not(None))).one()
    stored.key_hash = None
    db.session.commit()
    earlier = _with_cookie(app, {"kiosk_sid": stored.sid, "browser": "kiosk"})
    earlier.get(screen.authorize_url())
    assert "code" in screen.callback_params(earlier.url)  # no PIN asked: its session serves
    earlier.get("/logout")
    assert "You have logged out" in earlier.text
    db.session.expire_all()
    assert db.session.get(LoginSession, stored.id).ended_at is not None


@pytest.mark.parametrize("change", ["password changed", "other devices logged out"])
def test_a_cookie_copied_before_the_person_shuts_others_out_no_longer_signs_in(app, user, change):
    """What someone changing the password "in case it was not me", or logging out the other
    devices, wants to shut out. Before, a copy of the cookie went on serving."""
    elsewhere = signed_in(app, user)
    browser = signed_in(app, user)
    copied = clone(app, browser)
    assert copied.get("/account").status_code == 200
    browser.get("/account")
    if change == "password changed":
        browser.submit("/account/password", current_password=user.test_password,
                       new_password="a brand new horse battery staple")
    else:
        browser.submit("/account/sessions/end-others")
    assert browser.client.get("/account").status_code == 200  # this browser stays signed in
    assert copied.get("/account").status_code == 302 and elsewhere.client.get("/account").status_code == 302
