"""The kiosk in a real Chromium: big buttons for the residents, an on-screen keypad
(static/kiosk.js under the strict CSP) whose sign-in key signs in, a count of the typed
digits for screen readers, a "Still there?" question before an untouched PIN page goes
back to the list; and the PIN set and removed on the account page."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from idp.models import KioskPin
from tests.e2e.test_browser_login import enter_email, enter_password
from tests.support.kiosk import PIN, building, kiosk, resident


@pytest.fixture
def screen(app):
    house = building()
    screen = kiosk(app, house)
    resident(house, "a12@koivukuja.fi", "A 12")
    resident(house, "a2@koivukuja.fi", "A 2")
    return screen


@pytest.fixture
def callbacks(page):
    """The relying service's callback URLs the kiosk was sent to."""
    seen = []
    page.route("https://rp.example/**", lambda route: (seen.append(route.request.url),
                                                      route.fulfill(status=200, body="RP")))
    return seen


def tap(page, keys):
    for key in keys:
        page.get_by_role("button", name=key, exact=True).click()


def test_resident_taps_their_name_and_the_pin_on_the_keypad(app, page, live_server, screen, callbacks):
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(live_server + screen.authorize_url())
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    names = page.locator("ul.residents button")
    expect(names).to_have_text(["A 2", "A 12"])
    assert names.first.bounding_box()["height"] >= 64  # a target for a finger
    page.get_by_role("button", name="A 12").click()

    expect(page.get_by_test_id("resident")).to_have_text("A 12")
    field = page.get_by_label("Type your 4-digit PIN")
    expect(field).to_have_attribute("inputmode", "none")
    tap(page, "19")
    page.get_by_role("button", name="Erase").click()
    page.get_by_role("button", name="Erase").click()
    expect(field).to_have_value("")
    tap(page, PIN)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url("https://rp.example/**")
    assert "code" in parse_qs(urlsplit(callbacks[-1]).query)
    assert not problems, problems  # no script refused by the Content-Security-Policy


def test_a_mistyped_fourth_digit_is_erased_before_signing_in(app, page, live_server, screen, callbacks):
    page.goto(live_server + screen.authorize_url())
    page.get_by_role("button", name="A 12").click()
    tap(page, PIN[:3] + "0")
    page.wait_for_timeout(500)  # time enough for a page that sends itself
    assert "/kiosk/" in page.url and not callbacks
    page.get_by_role("button", name="Erase").click()
    tap(page, PIN[3])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("https://rp.example/**")
    assert [row.failed_attempts for row in KioskPin.query] == [0, 0]


@pytest.mark.parametrize("locale, name", [("en", "Sign in"), ("fi", "Kirjaudu sisään"), ("sv", "Logga in")])
def test_the_sign_in_key_shows_the_name_it_is_spoken_by(app, page, live_server, screen, locale, name):
    page.goto(live_server + screen.authorize_url(ui_locales=locale))
    page.get_by_role("button", name="A 12").click()
    key = page.get_by_role("button", name=name, exact=True)
    expect(key).to_have_count(1)
    expect(key).to_have_text(name)  # WCAG 2.5.3: the name said is the text seen
    page.wait_for_load_state("load")  # measured as styled: the keys exist before the style sheet is in
    box, digit = key.bounding_box(), page.get_by_role("button", name="5", exact=True).bounding_box()
    assert box["height"] >= 64 and box["width"] > 2 * digit["width"]


def test_a_screen_reader_hears_how_many_digits_are_typed_but_not_which(app, page, live_server, screen):
    page.goto(live_server + screen.authorize_url())
    page.get_by_role("button", name="A 12").click()
    progress = page.locator("[aria-live=polite]")
    tap(page, PIN[:2])
    expect(progress).to_have_text("2 of 4 digits")
    page.get_by_role("button", name="Erase").click()
    expect(progress).to_have_text("1 of 4 digits")
    tap(page, PIN[1:])
    expect(progress).to_have_text("4 of 4 digits")


def test_an_untouched_pin_page_asks_still_there_before_going_back_to_the_list(app, page, live_server, screen):
    page.clock.install()
    page.goto(live_server + screen.authorize_url())
    page.get_by_role("button", name="A 12").click()
    tap(page, PIN[:2])
    question = page.get_by_role("alertdialog", name="Still there?")

    page.clock.run_for(44_000)
    expect(question).to_be_hidden()
    page.clock.run_for(2_000)
    expect(question).to_be_visible()
    expect(question).to_contain_text("30 seconds")
    more_time = question.get_by_role("button", name="More time")
    expect(more_time).to_be_focused()
    page.clock.run_for(25_000)  # more than the 20 s WCAG 2.2.1 asks for an answer
    expect(page.get_by_test_id("resident")).to_have_text("A 12")
    more_time.click()
    expect(question).to_be_hidden()
    expect(page.get_by_label("Type your 4-digit PIN")).to_have_value(PIN[:2])

    page.clock.run_for(40_000)
    # A screen reader's double tap sends a click without a pointerdown: use all the same.
    page.get_by_role("button", name="3", exact=True).dispatch_event("click")
    page.clock.run_for(40_000)
    expect(question).to_be_hidden()
    page.clock.run_for(6_000)
    expect(question).to_be_visible()
    page.clock.run_for(31_000)  # nobody answers: the next person finds the list
    expect(page.get_by_text("Tap your name, then type your PIN.")).to_be_visible()


def test_the_language_links_on_the_kiosk_are_big_enough_for_a_finger(app, page, live_server, screen):
    def measured():
        return [link.bounding_box() for link in page.get_by_role("navigation", name="Language").get_by_role("link").all()]

    page.goto(live_server + screen.authorize_url())
    on_the_list = measured()
    page.get_by_role("button", name="A 12").click()
    expect(page.get_by_test_id("resident")).to_have_text("A 12")
    for box in on_the_list + measured():
        assert box["width"] >= 44 and box["height"] >= 44, box


def test_a_resident_sets_the_pin_and_removes_it_on_the_account_page(app, page, live_server):
    house = building()
    kiosk(app, house)
    person = resident(house, "a12@koivukuja.fi", "A 12", code=None)
    page.goto(live_server + "/login")
    enter_email(page, person.email)
    enter_password(page, person.test_password)
    page.goto(live_server + "/account/pin")
    # Shown as dots, yet no password field but the current password: a password manager must
    # not take the PIN for the account's new password.
    form = page.locator("form", has=page.get_by_role("button", name="Save PIN"))
    assert form.locator("input[type=password]").count() == 1
    for field in (page.get_by_label("PIN", exact=True), page.get_by_label("PIN again")):
        assert field.evaluate("e => getComputedStyle(e).webkitTextSecurity") == "disc"

    page.get_by_label("PIN", exact=True).fill(PIN)
    page.get_by_label("PIN again").fill(PIN)
    page.locator("#current_password").fill(person.test_password)
    page.get_by_role("button", name="Save PIN").click()
    expect(page.get_by_role("status")).to_contain_text("Your PIN was saved.")

    removal = page.locator("form", has=page.get_by_role("button", name="Remove PIN"))
    removal.get_by_label("Current password").fill("not my password")
    removal.get_by_role("button", name="Remove PIN").click()
    expect(page.get_by_role("alert")).to_have_text("Your current password is not correct.")
    removal.get_by_label("Current password").fill(person.test_password)  # locators look again after a load
    removal.get_by_role("button", name="Remove PIN").click()
    expect(page.get_by_role("status")).to_contain_text("Your PIN was removed.")
    expect(page.get_by_role("button", name="Remove PIN")).to_have_count(0)
