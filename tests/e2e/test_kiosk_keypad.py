"""The kiosk in a real Chromium: big buttons for the residents, an on-screen keypad
(static/kiosk.js under the strict CSP) that signs in at the fourth digit; and the PIN
set and removed on the account page."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

from tests.e2e.test_browser_login import enter_email, enter_password
from tests.support.kiosk import PIN, building, kiosk, resident


def test_resident_taps_their_name_and_the_pin_on_the_keypad(app, page, live_server):
    house = building()
    screen = kiosk(app, house)
    resident(house, "a12@koivukuja.fi", "A 12")
    resident(house, "a2@koivukuja.fi", "A 2")
    callbacks, problems = [], []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.route("https://rp.example/**", lambda route: (callbacks.append(route.request.url),
                                                      route.fulfill(status=200, body="RP")))

    page.goto(live_server + screen.authorize_url())
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    names = page.locator("ul.residents button")
    expect(names).to_have_text(["A 2", "A 12"])
    assert names.first.bounding_box()["height"] >= 64  # a target for a finger
    page.get_by_role("button", name="A 12").click()

    expect(page.get_by_test_id("resident")).to_have_text("A 12")
    expect(page.get_by_role("button", name="Sign in")).to_have_count(1)  # the keypad's OK; the plain one is hidden
    field = page.get_by_label("Type your 4-digit PIN")
    expect(field).to_have_attribute("inputmode", "none")
    for key in "19":
        page.get_by_role("button", name=key, exact=True).click()
    page.get_by_role("button", name="Erase").click()
    page.get_by_role("button", name="Erase").click()
    expect(field).to_have_value("")
    for key in PIN:
        page.get_by_role("button", name=key, exact=True).click()

    page.wait_for_url("https://rp.example/**")
    assert "code" in parse_qs(urlsplit(callbacks[-1]).query)
    assert not problems, problems  # no script refused by the Content-Security-Policy


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
