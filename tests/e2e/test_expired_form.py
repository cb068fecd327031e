"""A form left open past its day is refused; "Try again" leads back to it with what was
typed there (static/keep_typed.js), and the same form then posts."""
from playwright.sync_api import expect

from idp.extensions import db
from idp.models import Identity
from tests.e2e.test_browser_login import enter_email, enter_password
from tests.support.forms import made_hours_ago

KEPT = "tunnus.typed"


def test_try_again_after_an_expired_form_brings_back_what_was_typed(page, live_server, user):
    page.goto(f"{live_server}/account")
    enter_email(page, user.email)
    enter_password(page, user.test_password)
    with made_hours_ago(25):
        page.goto(f"{live_server}/account")
    page.get_by_label("Name").fill("Maija Virtanen")
    page.get_by_label("Mobile number").fill("040 123 4567")
    page.get_by_role("button", name="Save details").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("The form expired")
    page.get_by_role("link", name="Try again").click()
    expect(page).to_have_url(f"{live_server}/account")
    expect(page.get_by_label("Name")).to_have_value("Maija Virtanen")
    expect(page.get_by_label("Mobile number")).to_have_value("040 123 4567")

    page.get_by_role("button", name="Save details").click()
    expect(page.get_by_role("status")).to_have_text("Your details were saved.")
    assert page.evaluate(f"() => sessionStorage.getItem('{KEPT}')") is None  # nothing put back later
    db.session.expire_all()
    assert db.session.get(Identity, user.id).name == "Maija Virtanen"

