"""The kiosk in a real Chromium: big buttons for the residents, an on-screen keypad
(static/kiosk.js under the strict CSP) that signs in at the fourth digit."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import expect

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
