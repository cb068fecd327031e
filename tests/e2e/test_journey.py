"""A whole life of an account in a real Chromium that prefers Finnish.

Register, verify with the code from the real mail, sign in to the demo relying service
(clients/demo, served for real on its own port), change the password in the account
settings, and log out through the demo. Screenshots of the sign-in steps are saved in
the test's tmp_path.
"""
from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from clients.demo.app import create_app as create_demo_app
from idp.services import clients

EMAIL = "aino.virtanen@example.fi"
NAME = "Aino Virtanen"
PASSWORD = "kolme karhua metsässä"
NEW_PASSWORD = "lumikko juoksee hangella"
DEMO_NAME = "Demopalvelu"


@pytest.fixture
def context(chromium):
    """Overrides the English browser of tests/e2e/conftest.py: this person reads Finnish."""
    context = chromium.new_context(locale="fi-FI")
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def demo(live_server) -> str:
    """The demo relying service, registered with Tunnus and serving on a free port."""
    server = make_server("127.0.0.1", 0, None, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    client, secret = clients.create(DEMO_NAME, [f"{base}/callback"], [f"{base}/"])
    server.app = create_demo_app({"issuer": live_server, "client_id": client.client_id,
                                  "client_secret": secret, "port": server.server_port})
    thread = threading.Thread(target=server.serve_forever, name="demo-relying-service", daemon=True)
    thread.start()
    yield base
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


def screenshot(page, folder, name: str) -> None:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.read_bytes().startswith(b"\x89PNG")


def sign_in_through_demo(page, demo, password: str, shots=None) -> None:
    page.goto(demo)
    page.get_by_role("link", name="Sign in with Tunnus").click()
    expect(page.get_by_role("heading", name="Kirjaudu sisään")).to_be_visible()
    page.get_by_label("Sähköpostiosoite").fill(EMAIL)
    if shots:
        screenshot(page, shots, "1-email-step")
    page.get_by_role("button", name="Jatka").click()
    expect(page.get_by_test_id("login-email")).to_have_text(EMAIL)
    page.get_by_label("Salasana", exact=True).fill(password)
    expect(page.get_by_label("Muista kirjautumiseni tällä tietokoneella")).not_to_be_checked()
    if shots:
        screenshot(page, shots, "2-password-step")
    page.get_by_role("button", name="Kirjaudu sisään").click()


def test_register_verify_sign_in_to_a_service_change_password_and_log_out(page, live_server, demo, mailbox,
                                                                          tmp_path):
    # Register on Tunnus and prove the address with the code from the mail.
    page.goto(live_server + "/login")
    expect(page.locator("html")).to_have_attribute("lang", "fi")
    page.get_by_role("link", name="Luo tili").click()
    expect(page.get_by_role("heading", name="Luo tili")).to_be_visible()
    page.get_by_label("Sähköpostiosoite").fill(EMAIL)
    page.get_by_label("Nimi").fill(NAME)
    page.get_by_label("Salasana", exact=True).fill(PASSWORD)
    page.get_by_label("Salasana uudelleen").fill(PASSWORD)
    page.get_by_role("button", name="Luo tili").click()

    expect(page.get_by_role("heading", name="Tarkista sähköpostisi")).to_be_visible()
    mail = mailbox.last(EMAIL)
    assert mail["Subject"] == "Vahvista sähköpostiosoitteesi"
    page.get_by_label("Sähköpostissa saamasi koodi").fill(mailbox.code(EMAIL))
    screenshot(page, tmp_path, "3-code-step")
    page.get_by_role("button", name="Vahvista").click()
    expect(page.get_by_role("heading", name="Omat tiedot", exact=True)).to_be_visible()
    page.get_by_role("banner").get_by_role("button", name="Kirjaudu ulos").click()
    expect(page.get_by_role("heading", name="Olet kirjautunut ulos")).to_be_visible()

    # Sign in to the demo service: identifier first, then the password, then consent.
    sign_in_through_demo(page, demo, PASSWORD, shots=tmp_path)
    expect(page.get_by_role("heading", name=f"{DEMO_NAME} haluaa käyttää Tunnus-tiliäsi")).to_be_visible()
    page.get_by_role("button", name="Salli").click()
    expect(page).to_have_url(demo + "/")
    expect(page.get_by_text(f"Signed in as {NAME}")).to_be_visible()
    expect(page.get_by_role("row", name="email_verified")).to_contain_text("true")

    # Change the password in the account settings; the mail says so in Finnish.
    page.goto(live_server + "/account")
    section = page.locator("#password")  # the email change form asks the current password too
    section.get_by_label("Nykyinen salasana").fill(PASSWORD)
    section.get_by_label("Uusi salasana").fill(NEW_PASSWORD)
    section.get_by_role("button", name="Vaihda salasana").click()
    expect(page.get_by_role("status")).to_have_text("Salasanasi on vaihdettu. Muut laitteesi kirjattiin ulos.")
    assert mailbox.last(EMAIL)["Subject"] == "Tunnus-salasanasi vaihdettiin"

    # Log out through the demo: Tunnus ends its session too and sends the browser back.
    page.goto(demo)
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(demo + "/")
    expect(page.get_by_role("status")).to_have_text("You have signed out of the demo and of Tunnus.")
    page.goto(live_server + "/account")
    expect(page.get_by_role("heading", name="Kirjaudu sisään")).to_be_visible()

    # Only the new password opens the account now.
    sign_in_through_demo(page, demo, PASSWORD)
    expect(page.get_by_role("alert")).to_have_text("Sähköpostiosoite tai salasana on väärin, tai tili on lukittu.")
    page.get_by_label("Salasana", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="Kirjaudu sisään").click()
    expect(page).to_have_url(demo + "/")
    expect(page.get_by_text(f"Signed in as {NAME}")).to_be_visible()

    assert sorted(p.name for p in tmp_path.glob("*.png")) == ["1-email-step.png", "2-password-step.png",
                                                              "3-code-step.png"]
