"""The kiosk PIN as a resident meets it on the account page: exactly 4 digits, nothing
trivial, the password asked, at most one change a day (the page says when the next is
allowed), argon2id at rest, and removable with the password. Locking, replacing a locked
PIN and what removing one does at the kiosk: tests/web/test_kiosk.py."""
import pytest

from idp.extensions import db
from idp.methods import pin
from idp.models import AuditEvent, KioskPin
from idp.services import account, clock, passwords
from idp.services.audit import SYSTEM
from tests.support.browser import Browser
from tests.support.journeys import sign_in
from tests.support.kiosk import building, kiosk, pin_login, resident
from tests.support.orgs import person
from tests.support.races import at_once, barrier_after, post, race, row_locks

TOO_EASY = "This PIN is too easy to guess."
DAY = 24 * 3600


def signed_in_browser(app, identity):
    browser = Browser(app)
    browser.get("/login")
    sign_in(browser, identity.email, identity.test_password)
    assert "Your account" in browser.text
    return browser


def set_pin(browser, identity, code, repeat=None, password=None):
    browser.get("/account/pin")
    return browser.submit("/account/pin", pin=code, repeat_pin=code if repeat is None else repeat,
                          current_password=password or identity.test_password)


@pytest.fixture
def member(app):
    organisation = building()
    kiosk(app, organisation)
    return resident(organisation, "a12@koivukuja.fi", "A 12", code=None)


def test_account_page_offers_a_pin_to_members_of_an_organisation_with_a_kiosk(app, member):
    browser = signed_in_browser(app, member)
    assert "Kiosk PIN" in browser.text and "Set a PIN" in browser.text
    browser.get("/account/pin")
    assert "As Oy Koivukuja shows you on its screen as A 12." in browser.text
    outsider = signed_in_browser(app, person("muualla@example.fi"))
    assert "Kiosk PIN" not in outsider.text


def test_pin_is_stored_with_argon2id_and_the_page_says_when_it_may_change_next(app, member):
    browser = signed_in_browser(app, member)
    set_pin(browser, member, "4827")
    assert browser.page.status_code == 200 and "Your PIN was saved. You can change it again on" in browser.text
    stored = KioskPin.query.one()
    assert stored.pin_hash.startswith(pin.KEYED + "$argon2id$") and "4827" not in stored.pin_hash
    # Keyed: a database copy alone cannot test the 10,000 PINs against it, not even the right one.
    assert not passwords.verify(stored.pin_hash.removeprefix(pin.KEYED), "4827")
    assert 'data-testid="next-change"' in browser.text and 'name="pin"' not in browser.text
    assert [e.result for e in AuditEvent.query.filter_by(event="pin.set")] == ["success"]


@row_locks
def test_a_double_clicked_first_pin_is_saved_as_one_click_saves_it(app, member, monkeypatch):
    browser = signed_in_browser(app, member)
    browser.get("/account/pin")
    barrier_after(monkeypatch, account, "confirm_password")
    answers = race(app, browser, "/account/pin", pin="3917", repeat_pin="3917", current_password=member.test_password)
    assert [a.status_code for a in answers] == [302, 302]
    db.session.expire_all()
    assert KioskPin.query.filter_by(identity_id=member.id).count() == 1


@row_locks
@pytest.mark.parametrize("earlier", [None, "4827"], ids=["first_pin", "a_day_later"])
def test_two_pins_set_in_two_tabs_at_once_save_one_and_the_other_tab_says_so(app, monkeypatch, earlier):
    """Both forms pass the once-a-day check before either is saved: the second to save is
    refused as a change made too soon, and only the PIN its tab called saved works."""
    organisation = building()
    screen = kiosk(app, organisation)
    member = resident(organisation, "a12@koivukuja.fi", "A 12", code=None)
    if earlier:
        pin.set_pin(member, member.test_password, earlier, earlier, origin=SYSTEM)
        clock.advance(DAY + 60)
    browser = signed_in_browser(app, member)
    browser.get("/account/pin")
    barrier_after(monkeypatch, account, "confirm_password")
    answers = at_once(*(post(app, browser, "/account/pin", pin=code, repeat_pin=code,
                             current_password=member.test_password) for code in ("4862", "3917")))
    monkeypatch.undo()

    assert sorted(a.status_code for a in answers) == [302, 400]
    saved, refused = ("4862", "3917") if answers[0].status_code == 302 else ("3917", "4862")
    page = next(a for a in answers if a.status_code == 400).get_data(as_text=True)
    assert "You can change your PIN only once a day." in page and "Your PIN is set." in page
    at_screen = Browser(app)
    pin_login(at_screen, screen, member, code=refused)
    assert at_screen.page.status_code == 401 and "The PIN is not correct." in at_screen.text
    pin_login(at_screen, screen, member, code=saved)
    assert "code" in screen.callback_params(at_screen.url)
    assert AuditEvent.query.filter_by(event="pin.set", result="success").count() == (2 if earlier else 1)


@pytest.mark.parametrize("code", ["0000", "7777", "1234", "0123", "6789", "9876", "3210", "1212", "2580", "1004"])
def test_trivial_pins_are_refused(app, member, code):
    browser = signed_in_browser(app, member)
    set_pin(browser, member, code)
    assert browser.page.status_code == 400 and TOO_EASY in browser.text
    assert KioskPin.query.count() == 0


@pytest.mark.parametrize("code", ["482", "48271", "48a7", "４８２", " "])
def test_a_pin_is_exactly_four_digits(app, member, code):
    browser = signed_in_browser(app, member)
    set_pin(browser, member, code)
    assert browser.page.status_code == 400 and "Enter exactly 4 digits." in browser.text
    assert KioskPin.query.count() == 0


def test_a_pin_typed_in_another_scripts_digits_is_saved_as_its_digits(app, member):
    browser = signed_in_browser(app, member)
    set_pin(browser, member, "４８２７")  # fullwidth, as some phone keyboards give them
    assert browser.page.status_code == 200 and "Your PIN was saved." in browser.text
    assert KioskPin.query.count() == 1


def test_pins_must_match_and_the_password_is_needed(app, member):
    browser = signed_in_browser(app, member)
    set_pin(browser, member, "4827", repeat="4828")
    assert browser.page.status_code == 400 and "The PINs do not match." in browser.text
    set_pin(browser, member, "4827", password="not my password at all")
    assert browser.page.status_code == 400 and "Your current password is not correct." in browser.text
    assert KioskPin.query.count() == 0
    assert AuditEvent.query.filter_by(event="pin.set", result="failure").count() == 1


def test_pin_changes_at_most_once_a_day(app, member):
    browser = signed_in_browser(app, member)
    set_pin(browser, member, "4827")
    first_hash = KioskPin.query.one().pin_hash

    clock.advance(DAY - 60)
    browser = signed_in_browser(app, member)  # the first session has ended by now
    browser.get("/account/pin")
    assert "You can change it again on" in browser.text and 'name="pin"' not in browser.text
    refused = browser.client.post("/account/pin", data={"csrf_token": _csrf(browser), "pin": "5938",
                                                         "repeat_pin": "5938", "current_password": member.test_password})
    assert KioskPin.query.one().pin_hash == first_hash  # refused even when posted directly (a second tab)...
    assert refused.status_code == 400 and "You can change your PIN only once a day." in refused.text  # ...and said

    clock.advance(61)
    set_pin(browser, member, "5938")
    assert "Your PIN was saved." in browser.text and KioskPin.query.one().pin_hash != first_hash


def _csrf(browser) -> str:
    browser.get("/account")
    return browser.form("/account/profile")["fields"]["csrf_token"]


def test_a_pin_is_removed_only_with_the_password_and_can_then_be_set_again(app, member):
    browser = signed_in_browser(app, member)
    browser.get("/account/pin")
    assert "Remove the PIN" not in browser.text  # nothing to remove yet
    set_pin(browser, member, "4827")
    browser.submit("/account/pin/remove", current_password="not my password")
    assert browser.page.status_code == 400 and "Your current password is not correct." in browser.text
    assert KioskPin.query.count() == 1

    browser.submit("/account/pin/remove", current_password=member.test_password)
    assert browser.page.status_code == 200 and "Your PIN was removed." in browser.text
    assert KioskPin.query.count() == 0 and "Remove the PIN" not in browser.text
    assert [e.result for e in AuditEvent.query.filter_by(event="pin.removed").order_by(AuditEvent.id)] == \
        ["failure", "success"]
    set_pin(browser, member, "5938")  # at once: the day between changes counts for a PIN kept
    assert "Your PIN was saved." in browser.text and KioskPin.query.count() == 1


def test_a_removal_from_a_page_left_open_after_the_pin_was_removed_says_it_was_done_already(app, member):
    """Before, it said the PIN was removed, again."""
    browser = signed_in_browser(app, member)
    set_pin(browser, member, "4827")
    browser.get("/account/pin")
    form = browser.form("/account/pin/remove")
    elsewhere = signed_in_browser(app, member)
    elsewhere.get("/account/pin")
    elsewhere.submit("/account/pin/remove", current_password=member.test_password)
    browser.page = browser.client.post(form["action"], follow_redirects=True,
                                       data={**form["fields"], "current_password": member.test_password})
    assert "That was done already." in browser.text and "Your PIN was removed." not in browser.text


def test_the_pin_page_in_finnish_offers_removal(app, member):
    browser = signed_in_browser(app, member)
    set_pin(browser, member, "4827")
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fi"
    browser.get("/account/pin")
    assert "Poista PIN-koodi" in browser.text


@pytest.mark.parametrize("stored_as", ["unkeyed", "under_a_fallback_secret"])
def test_a_pin_hashed_the_earlier_way_still_opens_the_kiosk_and_is_hashed_anew(app, stored_as, monkeypatch):
    """PINs set before they were keyed, or keyed with a secret since moved to
    IDP_SECRET_KEY_FALLBACKS: the next right PIN stores it keyed with the current secret."""
    organisation = building()
    screen = kiosk(app, organisation)
    member = resident(organisation, "a12@koivukuja.fi", "A 12", code=None)
    earlier = "unkeyed-secret-" + "x" * 32
    if stored_as == "unkeyed":
        stored = passwords.hash_password("4827")
    else:
        monkeypatch.setitem(app.config, "IDP_SECRET_KEY", earlier)
        app.extensions.pop("idp.derived_keys", None)
        stored = pin._hash("4827")
        monkeypatch.undo()
        monkeypatch.setitem(app.config, "IDP_SECRET_KEY_FALLBACKS", [earlier])
        app.extensions.pop("idp.derived_keys", None)
    db.session.add(KioskPin(identity_id=member.id, pin_hash=stored))
    db.session.commit()

    pin_login(Browser(app), screen, member, code="4827")
    db.session.expire_all()
    renewed = KioskPin.query.one().pin_hash
    assert renewed != stored and renewed.startswith(pin.KEYED)
    at_screen = Browser(app)
    pin_login(at_screen, screen, member, code="4827")
    assert "code" in screen.callback_params(at_screen.url)
    pin_login(Browser(app), screen, member, code="4828")
    db.session.expire_all()
    assert KioskPin.query.one().pin_hash == renewed  # a wrong PIN changes nothing


@row_locks
def test_a_double_clicked_removal_is_recorded_once(app, member, monkeypatch):
    browser = signed_in_browser(app, member)
    set_pin(browser, member, "4827")
    browser.get("/account/pin")
    barrier_after(monkeypatch, account, "confirm_password")
    answers = race(app, browser, "/account/pin/remove", current_password=member.test_password)
    assert [answer.status_code for answer in answers] == [302, 302]
    assert KioskPin.query.count() == 0
    assert AuditEvent.query.filter_by(event="pin.removed", result="success").count() == 1
