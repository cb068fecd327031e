"""A building's kiosk: residents tap their name and type their PIN; the kiosk client gets
tokens with amr pin and the lowest acr, no refresh token, from a session that serves that
kiosk alone and ends after two minutes without use. A PIN opens nothing else."""
import html
import re

import pytest

from idp.extensions import db
from idp.methods.levels import ACR_MULTI_FACTOR, ACR_PASSWORD, ACR_PIN
from idp.methods import pin
from idp.models import AuditEvent, KioskPin, LoginSession
from idp.services import clients, clock, organisations
from tests.support.browser import Browser
from tests.support.journeys import authorize, sign_in
from tests.support.kiosk import PIN, building, kiosk, membership_id, pin_login, resident
from tests.support.orgs import person
from tests.support.races import barrier_after, race, row_locks

WRONG = "The PIN is not correct."
LOCKED = "PIN sign-in is off for you"


@pytest.fixture
def house(app):
    return building()


@pytest.fixture
def screen(app, house):
    return kiosk(app, house)


@pytest.fixture
def a12(house):
    return resident(house, "a12@koivukuja.fi", "A 12")


def redeem(rp, browser):
    callback = rp.callback_params(browser.url)
    assert "code" in callback, callback
    response = rp.redeem(callback["code"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def events(name):
    return [(e.result, (e.details or {}).get("reason")) for e in AuditEvent.query.filter_by(event=name)
            .order_by(AuditEvent.id)]


def test_resident_signs_in_with_the_pin_and_the_kiosk_gets_pin_level_tokens(app, screen, a12):
    browser = Browser(app)
    browser.get(screen.authorize_url())
    assert "/kiosk/" in browser.url and "Tap your name, then type your PIN." in browser.text
    assert 'name="password"' not in browser.text and a12.email not in browser.text
    browser.submit("/choose", button=("resident", str(membership_id(browser, "A 12"))))
    assert 'data-testid="resident">A 12<' in browser.text and 'inputmode="numeric"' in browser.text
    browser.submit("/pin", pin=PIN)

    tokens = redeem(screen, browser)
    claims = screen.verify_id_token(tokens["id_token"])
    assert claims["sub"] == a12.sub and claims["amr"] == ["pin"] and claims["acr"] == ACR_PIN
    assert "refresh_token" not in tokens and tokens["expires_in"] == 120
    assert screen.userinfo(tokens["access_token"]).get_json()["email"] == a12.email
    assert events("login.pin") == [("success", None)]


def test_only_residents_with_a_pin_and_a_display_name_are_listed_in_natural_order(app, house, screen):
    resident(house, "a12@koivukuja.fi", "A 12")
    resident(house, "a2@koivukuja.fi", "A 2")
    resident(house, "b3@koivukuja.fi", "B 3", code=None)  # no PIN
    resident(house, "nimeton@koivukuja.fi", "", code="5938")  # no display name
    elsewhere = building("As Oy Muualla", "1572860-0")
    resident(elsewhere, "c1@muualla.fi", "C 1")
    browser = Browser(app)
    browser.get(screen.authorize_url())
    listed = [name for name in ("A 2", "A 12", "B 3", "C 1") if f">{name}<" in browser.text]
    assert listed == ["A 2", "A 12"] and browser.text.index(">A 2<") < browser.text.index(">A 12<")
    browser.client.post(browser.form("/choose")["action"], data={
        "csrf_token": browser.form("/choose")["fields"]["csrf_token"], "resident": "99999"})
    assert AuditEvent.query.filter_by(event="login.pin").count() == 0


def test_a_name_with_a_superscript_or_circled_digit_sorts_among_the_others(app, house, screen, a12):
    """Before, "A 1²" or "③" (digits int() cannot read) made the whole list a 500."""
    resident(house, "a1@koivukuja.fi", "A 1²")
    resident(house, "pyorea@koivukuja.fi", "③")
    browser = Browser(app)
    browser.get(screen.authorize_url())
    assert browser.page.status_code == 200
    assert browser.text.index(">A 1²<") < browser.text.index(">A 12<") < browser.text.index(">③<")


def test_no_refresh_token_even_when_offline_access_is_asked_and_allowed(app, screen, a12):
    screen.client.grant_types = ["authorization_code", "refresh_token"]  # registration changed by hand
    screen.client.scope = "openid profile email offline_access"
    db.session.commit()
    browser = Browser(app)
    pin_login(browser, screen, a12, scope="openid offline_access")
    tokens = redeem(screen, browser)
    assert "refresh_token" not in tokens and "offline_access" not in tokens["scope"].split()


def test_five_wrong_pins_lock_pin_login_until_a_new_pin_is_set(app, screen, a12):
    browser = Browser(app)
    pin_login(browser, screen, a12, code="1357")
    for attempt in range(2, 5):
        assert browser.page.status_code == 401 and WRONG in browser.text, attempt
        browser.submit("/pin", pin="1357")
    assert browser.page.status_code == 401
    browser.submit("/pin", pin="1357")  # the fifth
    assert browser.page.status_code == 423 and LOCKED in browser.text and 'name="pin"' not in browser.text
    assert events("pin.locked") == [("success", None)]

    other = Browser(app)
    other.get(screen.authorize_url())
    other.submit("/choose", button=("resident", str(membership_id(other, "A 12"))))
    assert LOCKED in other.text and 'name="pin"' not in other.text  # said before any PIN is typed
    response = other.client.post(other.form("/back")["action"].replace("/back", "/pin"),
                                 data={"csrf_token": other.form("/back")["fields"]["csrf_token"], "pin": PIN})
    assert response.status_code == 423 and LOCKED in response.get_data(as_text=True)  # even the right PIN
    assert events("login.pin")[-1] == ("failure", "locked")

    owner = Browser(app)
    owner.get("/login")
    sign_in(owner, a12.email, a12.test_password)
    assert "A wrong PIN was typed too many times." in owner.text
    owner.get("/account/pin")  # set less than a day ago, but locked: replaced at once
    owner.submit("/account/pin", pin="5938", repeat_pin="5938", current_password=a12.test_password)
    assert "Your PIN was saved." in owner.text
    assert KioskPin.query.one().locked_at is None

    fresh = Browser(app)
    pin_login(fresh, screen, a12, code="5938")
    assert redeem(screen, fresh)["access_token"]


def test_a_locked_pin_cannot_be_set_again_as_it_was(app, screen, a12):
    """Before, it could: its count began anew, and a guesser who had ruled out five values
    got five more at the same PIN."""
    for _ in range(5):
        pin_login(Browser(app), screen, a12, code="1357")
    owner = Browser(app)
    owner.get("/login")
    sign_in(owner, a12.email, a12.test_password)
    owner.get("/account/pin")
    owner.submit("/account/pin", pin=PIN, repeat_pin=PIN, current_password=a12.test_password)
    assert owner.page.status_code == 400 and "Choose a PIN different from your current one." in owner.text
    assert KioskPin.query.one().locked_at is not None


def test_a_pin_with_as_many_wrong_tries_as_a_lowered_limit_allows_is_locked_everywhere(app, screen, a12):
    """Before, the right PIN was refused as locked while the kiosk still asked for it, the
    account page said nothing, and a new PIN might not be set for a day."""
    for _ in range(3):
        pin_login(Browser(app), screen, a12, code="1357")
    app.config["IDP_PIN_MAX_ATTEMPTS"] = 3  # the operator tightens the rule
    at_screen = Browser(app)
    at_screen.get(screen.authorize_url())
    at_screen.submit("/choose", button=("resident", str(membership_id(at_screen, "A 12"))))
    assert LOCKED in at_screen.text and 'name="pin"' not in at_screen.text
    owner = Browser(app)
    owner.get("/login")
    sign_in(owner, a12.email, a12.test_password)
    assert "A wrong PIN was typed too many times." in owner.text
    owner.get("/account/pin")
    owner.submit("/account/pin", pin="5938", repeat_pin="5938", current_password=a12.test_password)
    assert "Your PIN was saved." in owner.text
    pin_login(at_screen, screen, a12, code="5938")
    assert redeem(screen, at_screen)["access_token"]


@row_locks
def test_a_double_tapped_right_pin_starts_one_kiosk_session(app, screen, a12, monkeypatch):
    """Before, each tap started one: the other, held by no browser, could not be ended by
    the kiosk's logout and lasted until it went idle."""
    browser = Browser(app)
    browser.get(screen.authorize_url())
    browser.submit("/choose", button=("resident", str(membership_id(browser, "A 12"))))
    barrier_after(monkeypatch, pin, "verify")
    answers = race(app, browser, "/pin", pin=PIN)
    monkeypatch.undo()
    assert [a.status_code for a in answers] == [302, 302]
    db.session.expire_all()
    assert LoginSession.query.filter(LoginSession.kiosk_client_id.is_not(None)).count() == 1
    assert events("session.started") == [("success", None)]


def test_a_wrong_pin_says_how_many_tries_are_left(app, screen, a12):
    browser = Browser(app)
    pin_login(browser, screen, a12, code="1357")
    assert "The PIN is not correct. 4 tries left." in browser.text
    for _ in range(2):
        browser.submit("/pin", pin="1357")
    assert "The PIN is not correct. 2 tries left." in browser.text
    in_finnish = Browser(app)
    pin_login(in_finnish, screen, a12, code="1357", ui_locales="fi")
    assert "PIN-koodi on väärä. 1 yritys jäljellä." in in_finnish.text


def test_the_sign_in_key_tapped_before_four_digits_costs_no_try(app, screen, a12):
    browser = Browser(app)
    pin_login(browser, screen, a12, code="48")
    assert browser.page.status_code == 401 and "Type all 4 digits of your PIN, then tap Sign in." in browser.text
    assert KioskPin.query.one().failed_attempts == 0 and events("login.pin") == []
    browser.submit("/pin", pin=PIN)
    assert "code" in screen.callback_params(browser.url)


def test_a_right_pin_does_not_wipe_out_earlier_wrong_ones(app, screen, a12):
    for _ in range(4):
        pin_login(Browser(app), screen, a12, code="1357")
    browser = Browser(app)
    pin_login(browser, screen, a12)
    assert redeem(screen, browser)["access_token"]
    pin_login(Browser(app), screen, a12, code="1357")  # the fifth wrong one in all
    assert events("pin.locked") == [("success", None)]


def test_a_pin_typed_in_another_scripts_digits_is_the_same_pin(app, screen, a12):
    arabic = PIN.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    browser = Browser(app)
    pin_login(browser, screen, a12, code=arabic)
    assert "code" in screen.callback_params(browser.url)
    assert KioskPin.query.one().failed_attempts == 0


def test_a_pin_typed_on_the_normal_password_page_does_not_work(app, rp, a12):
    browser = Browser(app)
    browser.get(rp.authorize_url())
    sign_in(browser, a12.email, PIN)
    assert browser.page.status_code == 401 and "The email address or password is incorrect" in browser.text
    assert "rp.example" not in browser.url


def test_the_kiosk_session_gives_no_sign_in_to_other_clients(app, house, screen, rp, a12):
    browser = Browser(app)
    pin_login(browser, screen, a12)
    redeem(screen, browser)

    browser.get(rp.authorize_url())  # an ordinary service: asks for the email and password
    assert 'name="email"' in browser.text and "rp.example" not in (browser.url or "")
    browser.get(rp.authorize_url(prompt="none"))
    assert rp.callback_params(browser.url)["error"] == "login_required"
    browser.get("/account")
    assert "/login" in browser.url

    other_screen = kiosk(app, house, name="Porras B")
    browser.get(other_screen.authorize_url())  # another kiosk, even of the same building
    assert "/kiosk/" in browser.url and "Tap your name" in browser.text


def test_an_ordinary_session_is_not_used_by_the_kiosk(app, screen, rp, a12):
    browser = Browser(app)
    authorize(browser, rp, a12)
    assert rp.verify_id_token(redeem(rp, browser)["id_token"])["acr"] == ACR_PASSWORD
    browser.get(screen.authorize_url())
    assert "/kiosk/" in browser.url and "Tap your name" in browser.text
    browser.get(screen.authorize_url(prompt="none"))
    assert screen.callback_params(browser.url)["error"] == "login_required"


def test_the_kiosk_session_ends_after_two_minutes_without_use(app, screen, a12):
    browser = Browser(app)
    pin_login(browser, screen, a12)
    first = screen.verify_id_token(redeem(screen, browser)["id_token"])

    clock.advance(110)  # in use again before two minutes: the session goes on
    browser.get(screen.authorize_url(prompt="none"))
    again = redeem(screen, browser)
    assert screen.verify_id_token(again["id_token"])["sid"] == first["sid"]
    clock.advance(110)
    assert screen.userinfo(again["access_token"]).status_code == 200  # a use as well

    clock.advance(121)  # two minutes without use: over
    browser.get(screen.authorize_url(prompt="none"))
    assert screen.callback_params(browser.url)["error"] == "login_required"
    assert screen.userinfo(again["access_token"]).status_code == 401
    browser.get(screen.authorize_url())
    assert "Tap your name" in browser.text


def test_logout_ends_the_kiosk_session_and_its_tokens(app, screen, a12):
    browser = Browser(app)
    pin_login(browser, screen, a12)
    tokens = redeem(screen, browser)
    browser.get(f"/logout?id_token_hint={tokens['id_token']}&post_logout_redirect_uri=https://rp.example/bye")
    assert browser.url.startswith("https://rp.example/bye")
    assert screen.userinfo(tokens["access_token"]).status_code == 401
    assert screen.introspect(tokens["access_token"]).get_json() == {"active": False}
    browser.get(screen.authorize_url())
    assert "Tap your name" in browser.text


def test_a_bare_logout_on_the_kiosk_ends_the_pin_session(app, screen, a12):
    browser = Browser(app)
    pin_login(browser, screen, a12)
    tokens = redeem(screen, browser)
    browser.get("/logout")
    assert "You have logged out" in browser.text
    assert screen.userinfo(tokens["access_token"]).status_code == 401
    browser.get(screen.authorize_url())
    assert "Tap your name" in browser.text


@pytest.mark.parametrize("hinted", [True, False], ids=["with its hint", "bare"])
def test_the_kiosks_logout_ends_the_pin_session_beside_a_password_session_on_its_browser(app, house, screen, a12,
                                                                                         hinted):
    """Someone once signed in with a password on the kiosk's browser (to set their PIN, as
    the kiosk tells them to). Before, the kiosk's logout asked to confirm theirs and left
    the PIN session going: the kiosk signed the next person in as the last, with no PIN."""
    b3 = resident(house, "b3@koivukuja.fi", "B 3", code="5938")
    browser = Browser(app)
    browser.get("/login")
    sign_in(browser, a12.email, a12.test_password)
    pin_login(browser, screen, b3, code="5938")
    tokens = redeem(screen, browser)
    browser.get(f"/logout?id_token_hint={tokens['id_token']}&post_logout_redirect_uri=https://rp.example/bye"
                if hinted else "/logout")
    assert "Log out" in browser.text and screen.userinfo(tokens["access_token"]).status_code == 401
    browser.get(screen.authorize_url())
    assert "Tap your name" in browser.text
    browser.get("/account")
    assert "Your account" in browser.text  # the password session waits for its own confirmation


def test_going_back_after_a_logout_shows_the_list_again(app, screen, a12):
    browser = Browser(app)
    browser.get(screen.authorize_url())
    browser.submit("/choose", button=("resident", str(membership_id(browser, a12.display_name))))
    pin_page = browser.url
    browser.submit("/pin", pin=PIN)
    browser.get("/logout")
    browser.get(pin_page)  # the browser's Back button
    assert browser.page.status_code == 200 and "Tap your name" in browser.text


def test_a_pin_session_meets_no_password_or_mfa_demand(app, screen, a12):
    for level in (ACR_PASSWORD, ACR_MULTI_FACTOR):
        browser = Browser(app)
        pin_login(browser, screen, a12)
        redeem(screen, browser)
        browser.get(screen.authorize_url(acr_values=level))
        callback = screen.callback_params(browser.url)
        assert callback["error"] == "access_denied", level
        assert callback["error_description"] == "A kiosk signs people in with a PIN only."
    browser = Browser(app)
    pin_login(browser, screen, a12, acr_values=ACR_PIN)
    assert screen.verify_id_token(redeem(screen, browser)["id_token"])["acr"] == ACR_PIN


def test_a_password_session_meets_a_pin_demand(app, rp, a12):
    browser = Browser(app)
    browser.get(rp.authorize_url(acr_values=ACR_PIN))
    sign_in(browser, a12.email, a12.test_password)
    if "/authorize/consent/" in browser.text:
        browser.submit("/authorize/consent/", button=("decision", "allow"))
    assert rp.verify_id_token(redeem(rp, browser)["id_token"])["acr"] == ACR_PASSWORD


def test_kiosk_page_says_so_when_nobody_has_a_pin(app, screen):
    person("ei-pinnia@koivukuja.fi")
    browser = Browser(app)
    browser.get(screen.authorize_url())
    assert "Nobody can sign in here yet." in browser.text



def test_the_next_resident_signing_in_ends_the_previous_residents_session(app, house, screen, a12):
    b3 = resident(house, "b3@koivukuja.fi", "B 3", code="5938")
    browser = Browser(app)
    pin_login(browser, screen, a12)
    first = redeem(screen, browser)
    pin_login(browser, screen, b3, code="5938", prompt="login")
    second = redeem(screen, browser)
    assert screen.verify_id_token(second["id_token"])["sub"] == b3.sub
    assert screen.userinfo(first["access_token"]).status_code == 401
    assert screen.userinfo(second["access_token"]).status_code == 200


def test_a_kiosk_that_is_not_first_party_asks_consent_of_the_resident(app, house, a12):
    screen = kiosk(app, house)
    screen.client.first_party = False
    db.session.commit()
    browser = Browser(app)
    pin_login(browser, screen, a12)
    assert "/authorize/consent/" in browser.text
    browser.submit("/authorize/consent/", button=("decision", "allow"))
    assert screen.verify_id_token(redeem(screen, browser)["id_token"])["amr"] == ["pin"]


def test_a_resident_removed_from_the_organisation_meanwhile_is_back_at_the_list(app, house, screen, a12):
    browser = Browser(app)
    browser.get(screen.authorize_url())
    browser.submit("/choose", button=("resident", str(membership_id(browser, "A 12"))))
    pin_page = browser.url
    organisations.remove_member(house, organisations.membership(house, a12))
    db.session.commit()
    browser.get(pin_page)
    assert "Nobody can sign in here yet." in browser.text and ">A 12<" not in browser.text


@pytest.mark.parametrize("taken_off", ["removed", "name cleared"])
def test_a_resident_taken_off_the_list_while_signed_in_at_the_kiosk_is_signed_out_there(app, house, screen, a12,
                                                                                       taken_off):
    """Before, their session went on: the kiosk signed them in again without a PIN, and
    their tokens worked, for as long as the session was used (up to 12 hours)."""
    browser = Browser(app)
    pin_login(browser, screen, a12)
    tokens = redeem(screen, browser)
    member = organisations.membership(house, a12)
    if taken_off == "removed":
        organisations.remove_member(house, member)
    else:
        organisations.set_display_name(house, member, "")
    db.session.commit()
    assert screen.userinfo(tokens["access_token"]).status_code == 401
    browser.get(screen.authorize_url(prompt="none"))
    assert screen.callback_params(browser.url)["error"] == "login_required"


@pytest.mark.parametrize("taken_off", ["organisation suspended", "PIN removed", "name cleared"])
def test_a_pin_page_opened_before_the_resident_was_taken_off_the_list_shows_the_list(app, house, screen, a12,
                                                                                     taken_off):
    """Before, it showed the name and the PIN field (or, the PIN removed, "locked") until a
    PIN was typed in vain."""
    browser = Browser(app)
    browser.get(screen.authorize_url())
    browser.submit("/choose", button=("resident", str(membership_id(browser, "A 12"))))
    pin_page = browser.url
    if taken_off == "organisation suspended":
        organisations.suspend(house)
    elif taken_off == "PIN removed":
        db.session.delete(KioskPin.query.one())
    else:
        organisations.set_display_name(house, organisations.membership(house, a12), "")
    db.session.commit()
    browser.get(pin_page)
    assert ">A 12<" not in browser.text and 'name="pin"' not in browser.text and LOCKED not in browser.text


def test_removing_the_pin_ends_the_kiosk_session_and_takes_the_resident_off_the_list(app, screen, a12):
    at_screen = Browser(app)
    pin_login(at_screen, screen, a12)
    tokens = redeem(screen, at_screen)
    at_home = Browser(app)
    at_home.get("/login")
    sign_in(at_home, a12.email, a12.test_password)
    at_home.get("/account/pin")
    at_home.submit("/account/pin/remove", current_password=a12.test_password)

    assert "Your PIN was removed." in at_home.text and KioskPin.query.count() == 0
    assert screen.userinfo(tokens["access_token"]).status_code == 401
    at_screen.get(screen.authorize_url())
    assert "Nobody can sign in here yet." in at_screen.text and "A 12" not in at_screen.text
    assert events("pin.removed") == [("success", None)]


def test_a_kiosk_answers_only_its_own_networks(app, house, screen, a12):
    clients.set_kiosk_networks(screen.client, ["192.0.2.0/24", "2001:db8::/48"])
    away = Browser(app)
    away.client.environ_base["REMOTE_ADDR"] = "198.51.100.23"
    away.get(screen.authorize_url())
    assert away.page.status_code == 403
    assert "works only on the building&#39;s own touch screen" in away.text and "A 12" not in away.text
    assert AuditEvent.query.filter_by(event="kiosk.refused").one().ip == "198.51.100.23"

    lobby = Browser(app)
    lobby.client.environ_base["REMOTE_ADDR"] = "192.0.2.40"
    lobby.get(screen.authorize_url())
    assert ">A 12<" in lobby.text
    lobby.submit("/choose", button=("resident", str(membership_id(lobby, "A 12"))))
    pin_page = lobby.url
    # The same browser, carried elsewhere mid-way: the PIN page refuses too, and no PIN is tried.
    lobby.client.environ_base["REMOTE_ADDR"] = "198.51.100.23"
    lobby.get(pin_page)
    assert lobby.page.status_code == 403 and "A 12" not in lobby.text
    lobby.client.environ_base["REMOTE_ADDR"] = "::ffff:192.0.2.40"  # the same address, as IPv6 gives it
    lobby.get(pin_page)
    lobby.submit("/pin", pin=PIN)
    assert screen.verify_id_token(redeem(screen, lobby)["id_token"])["amr"] == ["pin"]
    # The signed-in kiosk's cookie, carried out of the building, signs in to nothing there.
    lobby.client.environ_base["REMOTE_ADDR"] = "198.51.100.23"
    lobby.get(screen.authorize_url())
    assert lobby.page.status_code == 403 and not lobby.url.startswith("https://rp.example/")


def test_the_refusal_is_in_the_kiosks_language(app, house, screen, a12):
    clients.set_kiosk_networks(screen.client, ["192.0.2.0/24"])
    away = Browser(app)
    away.client.environ_base["REMOTE_ADDR"] = "198.51.100.23"
    away.get(screen.authorize_url(ui_locales="fi"))
    assert away.page.status_code == 403 and "Tällä tavalla voi kirjautua vain talon omalla kosketustaululla." in away.text
    assert "<h1>Vain talon kosketustaululla</h1>" in away.text and "kioski" not in away.text.lower()


def test_a_language_link_after_a_wrong_pin_stays_on_the_kiosk(app, screen, a12):
    browser = Browser(app)
    pin_login(browser, screen, a12, code="1357")
    assert browser.page.status_code == 401 and WRONG in browser.text
    swedish = re.search(r'<a href="([^"]+)" lang="sv">Svenska</a>', browser.text).group(1)
    browser.get(swedish.replace("&amp;", "&"))
    assert "/kiosk/" in browser.url and '<html lang="sv">' in browser.text and "A 12" in browser.text


def _refresh(browser) -> tuple[int, str]:
    found = re.search(r'<meta http-equiv="refresh" content="(\d+); url=([^"]+)">', browser.text)
    assert found, "the list does not renew itself"
    return int(found.group(1)), html.unescape(found.group(2))


def test_the_list_renews_its_request_before_it_expires(app, screen, a12):
    browser = Browser(app)
    browser.get(screen.authorize_url())
    first = browser.url
    seconds, url = _refresh(browser)
    assert 0 < seconds < app.config["IDP_FLOW_TTL"] and url.startswith("/authorize?")
    clock.advance(seconds)  # the screen's timer fires
    browser.get(url)
    assert "/kiosk/" in browser.url and browser.url != first and ">A 12<" in browser.text
    clock.advance(app.config["IDP_FLOW_TTL"] - seconds + 1)  # past the first request's time
    browser.submit("/choose", button=("resident", str(membership_id(browser, "A 12"))))
    browser.submit("/pin", pin=PIN)
    assert screen.callback_params(browser.url)["state"] == screen.state
    assert screen.verify_id_token(redeem(screen, browser)["id_token"])["nonce"] == screen.nonce


def test_a_tap_on_a_list_left_past_its_time_shows_the_list_anew(app, screen, a12):
    browser = Browser(app)
    browser.get(screen.authorize_url())
    first = browser.url
    clock.advance(app.config["IDP_FLOW_TTL"] + 1)  # the screen slept through its renewal
    browser.submit("/choose", button=("resident", str(membership_id(browser, "A 12"))))
    assert browser.page.status_code == 200 and "/kiosk/" in browser.url and browser.url != first
    assert "Tap your name, then type your PIN." in browser.text
    browser.submit("/choose", button=("resident", str(membership_id(browser, "A 12"))))
    browser.submit("/pin", pin=PIN)
    assert "id_token" in redeem(screen, browser)


def test_another_browser_gets_no_fresh_request_from_an_expired_list(app, screen, a12):
    browser = Browser(app)
    browser.get(screen.authorize_url())
    form = browser.form("/choose")
    clock.advance(app.config["IDP_FLOW_TTL"] + 1)
    response = Browser(app).client.post(form["action"], data={**form["fields"], "resident": "1"})
    assert response.status_code in (400, 410) and "Location" not in response.headers


def test_suspending_the_organisation_ends_its_kiosk_sessions_and_stops_new_pin_sign_ins(app, house, screen, a12):
    signed_in = Browser(app)
    pin_login(signed_in, screen, a12)
    tokens = redeem(screen, signed_in)
    waiting = Browser(app)  # a resident chosen, the PIN not yet typed
    waiting.get(screen.authorize_url())
    waiting.submit("/choose", button=("resident", str(membership_id(waiting, "A 12"))))

    assert organisations.suspend(house)
    db.session.commit()
    assert screen.userinfo(tokens["access_token"]).status_code == 401
    signed_in.get(screen.authorize_url())  # its session has ended: the list again, now empty
    assert "/kiosk/" in signed_in.url and ">A 12<" not in signed_in.text
    waiting.submit("/pin", pin=PIN)
    assert "code=" not in waiting.url and waiting.page.status_code == 404


def test_a_resident_taken_off_the_list_after_tapping_their_name_cannot_sign_in(app, house, screen, a12):
    waiting = Browser(app)
    waiting.get(screen.authorize_url())
    waiting.submit("/choose", button=("resident", str(membership_id(waiting, "A 12"))))
    organisations.set_display_name(house, organisations.membership(house, a12), None)
    db.session.commit()
    waiting.submit("/pin", pin=PIN)
    assert "code=" not in waiting.url and waiting.page.status_code == 404
    assert events("login.pin") == []


def test_a_kiosk_page_left_open_when_its_kiosk_is_deleted_answers_not_found(app, screen, a12):
    browser = Browser(app)
    browser.get(screen.authorize_url())
    clients.delete(screen.client)
    browser.submit("/choose", button=("resident", str(membership_id(browser, "A 12"))))
    assert browser.page.status_code == 404


def test_the_admin_names_a_member_who_joined_before_the_kiosk_and_the_kiosk_lists_them(app, house, screen, runner):
    """A member without a display name is not listed; the organisation's admin (on its
    page) or an operator (`tunnus orgs set-display-name`) names them, or clears it."""
    from tests.support.journeys import signed_in
    from tests.support.orgs import PASSWORD

    b7 = resident(house, "b7@koivukuja.fi", None)
    listing = Browser(app)
    listing.get(screen.authorize_url())
    assert "B 7" not in listing.text

    house_admin = organisations.admins(house)[0]
    house_admin.test_password = PASSWORD
    admin = signed_in(app, house_admin)
    admin.get(f"/orgs/{house.id}")
    assert "Name on the building's screen" in admin.text
    admin.submit(f"/members/{organisations.membership(house, b7).id}/display-name", display_name="  B 7 ")
    assert "b7@koivukuja.fi is listed on the building's screen as B 7." in admin.text
    listing.get(screen.authorize_url())
    membership_id(listing, "B 7")
    a12 = resident(house, "a12@koivukuja.fi", "A 12")
    admin.get(f"/orgs/{house.id}")
    admin.submit(f"/members/{organisations.membership(house, a12).id}/display-name", display_name="b  7")
    assert admin.page.status_code == 409 and "Another member is listed as b 7 already." in admin.text
    assert [(e.details["member"], e.details["display_name"])
            for e in AuditEvent.query.filter_by(event="org.display_name_changed")] == [("b7@koivukuja.fi", "B 7")]

    cleared = runner.invoke(args=["orgs", "set-display-name", "--org", str(house.id), "--email", b7.email,
                                  "--display-name", ""])
    assert cleared.exit_code == 0, cleared.output
    listing.get(screen.authorize_url())
    assert "B 7" not in listing.text
    admin.get(f"/orgs/{house.id}")
    assert "b7@koivukuja.fi is no longer listed on the building's screen." in admin.text  # the activity list
    stranger = runner.invoke(args=["orgs", "set-display-name", "--org", str(house.id), "--email", "x@example.fi",
                                   "--display-name", "C 1"])
    assert stranger.exit_code == 1 and "x@example.fi is not a member of As Oy Koivukuja" in stranger.output
