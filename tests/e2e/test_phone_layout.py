"""Pages people use on a phone fit a 360 px wide screen: nothing lies off to the right."""
import pytest

from idp.services import clients
from tests.support.orgs import organisation, person

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def phone(chromium, live_server):
    context = chromium.new_context(locale="fi-FI", viewport=PHONE)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def sign_in(phone, origin, who, path="/account"):
    phone.goto(origin + path)
    phone.locator("#email").fill(who.email)
    phone.locator("form button.primary").first.click()
    phone.locator("#password").fill(who.test_password)
    phone.locator("form button.primary").first.click()
    phone.wait_for_url(f"{origin}{path}")


def sideways(phone) -> int:
    return phone.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_a_long_address_in_the_header_leaves_log_out_on_screen(app, phone, live_server):
    me = person("maija-liisa.virtanen@kaupunginkirjasto.fi")
    sign_in(phone, live_server, me)
    box = phone.locator("header .who button").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    assert sideways(phone) == 0


def test_the_rights_matrix_scrolls_in_its_box_not_the_page(app, phone, live_server):
    admin, member = person("isannoitsija@koivukuja.fi"), person("a12@koivukuja.fi")
    org = organisation("As Oy Koivukuja", "0737546-2", admin, members=[member])
    clients.create("Huoltopyynnöt", ["https://rp.example/callback"], [], org_mode="business")
    sign_in(phone, live_server, admin, f"/orgs/{org.id}")
    assert phone.get_by_test_id("rights-matrix").is_visible()
    assert sideways(phone) == 0
