"""Switching the language half-way through a form keeps what was typed (static/keep_typed.js)."""
from playwright.sync_api import expect

from tests.e2e.test_browser_login import enter_email, enter_password
from tests.support.kiosk import building, kiosk, resident


def test_switching_language_keeps_typed_name_and_email_but_not_the_password(page, live_server):
    page.goto(f"{live_server}/register")
    page.get_by_label("Email address").fill("maija.meikalainen@example.fi")
    page.get_by_label("Name").fill("Maija Meikäläinen")
    page.get_by_label("Password", exact=True).fill("kolme eri sanaa")

    page.get_by_role("link", name="Svenska").click()

    expect(page.get_by_role("heading", name="Skapa ett konto")).to_be_visible()
    expect(page.get_by_label("E-postadress")).to_have_value("maija.meikalainen@example.fi")
    expect(page.get_by_label("Namn")).to_have_value("Maija Meikäläinen")
    expect(page.get_by_label("Lösenord", exact=True)).to_have_value("")


def test_typed_values_are_put_back_once_only(page, live_server):
    page.goto(f"{live_server}/register")
    page.get_by_label("Name").fill("Maija Meikäläinen")
    page.get_by_role("link", name="Suomi").click()
    expect(page.get_by_label("Nimi")).to_have_value("Maija Meikäläinen")

    page.get_by_label("Nimi").fill("")
    page.reload()
    expect(page.get_by_label("Nimi")).to_have_value("")


def test_a_pin_typed_as_masked_text_is_never_carried(app, page, live_server):
    house = building()
    kiosk(app, house)
    person = resident(house, "a12@koivukuja.fi", "A 12", code=None)
    page.goto(f"{live_server}/login")
    enter_email(page, person.email)
    enter_password(page, person.test_password)
    page.goto(f"{live_server}/account/pin")
    page.get_by_label("PIN", exact=True).fill("2580")

    # What the link's click stored, read before the next page takes it back.
    page.evaluate("() => window.addEventListener('pagehide', () => "
                  "localStorage.setItem('carried', sessionStorage.getItem('tunnus.typed') || ''))")
    page.get_by_role("link", name="Suomi").click()

    expect(page.get_by_label("PIN-koodi", exact=True)).to_have_value("")
    assert "2580" not in page.evaluate("() => localStorage.getItem('carried')")
