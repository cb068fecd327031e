"""A forgotten-password reset of an account with a second factor: the mailed code or link
proves only the mailbox, so the second factor is asked (as the login asks it) before the
new password; only then does the password change and every other session end, and the
person is signed in without being asked again. Without the factor, the page says where
to turn."""
import re

from idp.extensions import db
from idp.models import AuditEvent, Identity
from idp.services import clock, passwords
from tests.support import passkeys
from tests.support.browser import Browser
from tests.support.journeys import sign_in
from tests.support.totp import app_code, enrol, wrong_code
from tests.support.webauthn_authenticator import Authenticator

from .test_recovery import NEW_PASSWORD, ask_reset, choose_password

ASKED = "Confirm it is you with it before you choose a new password: the email alone is not enough to change it."
LOST = "contact the support of the service you use"


def owner_signed_in(app, user) -> tuple[Browser, str, list[str]]:
    """The owner's own browser, signed in, with an authenticator app set up in it."""
    owner = Browser(app)
    owner.get("/login")
    sign_in(owner, user.email, user.test_password)
    secret, codes = enrol(owner, user)
    return owner, secret, codes


def still_signed_in(browser) -> bool:
    browser.get("/account")
    return "Your account" in browser.text


def password_is(user, password) -> bool:
    stored = db.session.execute(db.select(Identity.password_hash).where(Identity.id == user.id)).scalar_one()
    return passwords.verify(stored, password)


def events(name):
    return [e.result for e in AuditEvent.query.filter_by(event=name).order_by(AuditEvent.id)]


def test_the_mailbox_alone_changes_no_password_and_ends_no_session(app, user, mailbox):
    owner, secret, _ = owner_signed_in(app, user)
    intruder = Browser(app)
    ask_reset(intruder, user.email)
    intruder.submit("/recovery/", code=mailbox.code(user.email))
    assert "/totp" in intruder.url and ASKED in intruder.text
    assert 'autocomplete="new-password"' not in intruder.text
    for _ in range(3):
        intruder.submit("/totp", code=wrong_code(secret))
        assert intruder.page.status_code == 400 and "The code is not correct." in intruder.text
    assert events("login.totp") == ["failure"] * 3  # counted as at login, towards its lock

    assert password_is(user, user.test_password) and not password_is(user, NEW_PASSWORD)
    assert still_signed_in(owner)
    assert events("session.ended_all") == [] and events("identity.password_changed") == []
    assert events("recovery.completed") == []
    assert mailbox.last(user.email)["Subject"] != "Your Tunnus password was changed"


def test_the_new_password_cannot_be_posted_before_the_second_factor(app, user, mailbox):
    owner, _, _ = owner_signed_in(app, user)
    intruder = Browser(app)
    ask_reset(intruder, user.email)
    password_url = intruder.url + "/password"
    intruder.submit("/recovery/", code=mailbox.code(user.email))
    intruder.get(password_url)
    assert "/totp" in intruder.url and 'autocomplete="new-password"' not in intruder.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', intruder.text).group(1)
    posted = intruder.client.post(password_url, data={"csrf_token": csrf, "password": NEW_PASSWORD,
                                                      "confirm": NEW_PASSWORD})
    assert posted.status_code == 302  # back to the second factor
    assert password_is(user, user.test_password)
    assert still_signed_in(owner) and events("session.ended_all") == []


def test_code_and_app_then_the_new_password_signs_in_and_ends_other_sessions(app, user, mailbox):
    owner, secret, _ = owner_signed_in(app, user)
    browser = Browser(app)
    ask_reset(browser, user.email)
    browser.submit("/recovery/", code=mailbox.code(user.email))
    browser.submit("/totp", code=app_code(secret))
    assert browser.text.count('autocomplete="new-password"') == 2
    assert password_is(user, user.test_password) and still_signed_in(owner)  # not yet

    choose_password(browser)
    assert "Your account" in browser.text and "/totp" not in browser.url  # not asked again
    assert mailbox.last(user.email)["Subject"] == "Your Tunnus password was changed"
    assert password_is(user, NEW_PASSWORD)
    assert not still_signed_in(owner)
    assert events("session.ended_all") == ["success"] and events("login.totp") == ["success"]


def test_a_mailed_link_opened_in_another_browser_asks_there(app, user, mailbox):
    _, secret, _ = owner_signed_in(app, user)
    asking = Browser(app)
    ask_reset(asking, user.email)
    elsewhere = Browser(app)
    elsewhere.get(mailbox.link(user.email, "/link"))
    elsewhere.submit("/link")
    assert "/totp" in elsewhere.url and ASKED in elsewhere.text
    clock.advance(30)
    elsewhere.submit("/totp", code=app_code(secret))
    choose_password(elsewhere)
    assert "Your account" in elsewhere.text and password_is(user, NEW_PASSWORD)


def test_a_recovery_code_instead_of_the_app(app, user, mailbox):
    _, _, codes = owner_signed_in(app, user)
    browser = Browser(app)
    ask_reset(browser, user.email)
    browser.submit("/recovery/", code=mailbox.code(user.email))
    browser.get(re.search(r'<a href="([^"]+)">Use a recovery code instead<', browser.text).group(1))
    assert ASKED in browser.text
    browser.submit("/totp/recovery", code="aaaa-bbbb-cccc")
    assert browser.page.status_code == 400 and "The recovery code is not correct." in browser.text
    browser.submit("/totp/recovery", code=codes[0])
    choose_password(browser)
    assert "Your account" in browser.text and password_is(user, NEW_PASSWORD)
    assert events("recovery_code.used") == ["success"]


def test_a_passkey_where_the_login_offers_it(app, user, mailbox):
    device = Authenticator()
    passkeys.added(app, user, device)
    browser = Browser(app)
    ask_reset(browser, user.email)
    browser.submit("/recovery/", code=mailbox.code(user.email))
    assert "/passkey/verify" in browser.url and ASKED in browser.text and LOST in browser.text
    passkeys.verify(browser, device, user_verified=False)
    choose_password(browser)
    assert "Your account" in browser.text and password_is(user, NEW_PASSWORD)


def test_without_the_factor_the_page_says_where_to_turn(app, user, mailbox):
    owner_signed_in(app, user)
    browser = Browser(app)
    ask_reset(browser, user.email)
    browser.submit("/recovery/", code=mailbox.code(user.email))
    assert "Lost your second factor?" in browser.text and LOST in browser.text
    assert "remove your two-step verification" in browser.text
    browser.get(browser.url + "/recovery")
    assert LOST in browser.text


def test_in_finnish_and_swedish(app, user, mailbox):
    owner_signed_in(app, user)
    for language, asked, lost in (
            ("fi", "Tällä tilillä on käytössä kaksivaiheinen tunnistautuminen. Vahvista sillä",
             "ota yhteyttä käyttämäsi palvelun asiakastukeen"),
            ("sv", "Det här kontot har tvåstegsverifiering. Bekräfta med den",
             "kontakta kundtjänsten för den tjänst du använder")):
        browser = Browser(app)
        browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        ask_reset(browser, user.email)
        browser.submit("/recovery/", code=mailbox.code(user.email))
        assert f'<html lang="{language}">' in browser.text
        assert asked in browser.text and lost in browser.text, browser.text


def test_login_and_reset_share_the_lock_of_wrong_codes(app, user, mailbox):
    _, secret, _ = owner_signed_in(app, user)
    browser = Browser(app)
    ask_reset(browser, user.email)
    browser.submit("/recovery/", code=mailbox.code(user.email))
    for _ in range(5):
        browser.submit("/totp", code=wrong_code(secret))
    assert browser.page.status_code == 429 and "Too many wrong codes. Wait 15 minutes and try again." in browser.text
    login = Browser(app)
    login.get("/login")
    sign_in(login, user.email, user.test_password)
    login.submit("/totp", code=app_code(secret))
    assert login.page.status_code == 429
    assert events("totp.locked") == ["success"] and password_is(user, user.test_password)


def test_an_account_without_a_second_factor_keeps_its_journey(app, browser, user, mailbox):
    other = Browser(app)
    other.get("/login")
    sign_in(other, user.email, user.test_password)
    ask_reset(browser, user.email)
    browser.submit("/recovery/", code=mailbox.code(user.email))
    assert "/recovery/" in browser.url and browser.text.count('autocomplete="new-password"') == 2
    assert ASKED not in browser.text
    choose_password(browser)
    assert "Your account" in browser.text and not still_signed_in(other)
