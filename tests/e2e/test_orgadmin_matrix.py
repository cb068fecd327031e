"""An organisation admin manages the matrix in a real browser, finding each control by the
name a screen reader or voice control uses: its visible words first, then whom it acts on."""
import re

import pytest
from playwright.sync_api import expect

from idp.extensions import db
from idp.services import organisations
from tests.support.orgs import organisation, person
from tests.support.rp import RelyingParty



def named(seen, context):
    """A control's accessible name: its visible words, then the hidden words saying whom it
    acts on (Chromium puts a space before the hidden part, as it is positioned apart)."""
    return re.compile(rf"^{re.escape(seen)}\s?: {re.escape(context)}$")


ALLOW = named("No access", "Siivousraportit, ville@siivous.fi. Press to allow")
REMOVE_ACCESS = named("Allowed", "Siivousraportit, ville@siivous.fi. Press to remove access")


@pytest.fixture
def company(app):
    service = RelyingParty.register(app, name="Siivousraportit")
    service.client.org_mode = "business"
    admin, worker = person("pirjo@siivous.fi", "Pirjo"), person("ville@siivous.fi", "Ville")
    org = organisation("Siivous Oy", "0737546-2", admin, [worker])
    db.session.commit()
    return org, admin, worker, service


def _open_as(page, live_server, org, admin):
    page.goto(f"{live_server}/orgs/{org.id}")
    page.get_by_label("Email address").fill(admin.email)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password", exact=True).fill(admin.test_password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def test_admin_grants_a_right_in_the_matrix_and_keeps_their_place(app, page, live_server, company, tmp_path):
    org, admin, worker, service = company
    for n in range(20):  # members before Ville's row, so it is far down the page
        organisations.add_member(org, person(f"a{n:02}@siivous.fi").email, "member")
    db.session.commit()
    _open_as(page, live_server, org, admin)

    matrix = page.get_by_role("table", name="Members, their roles and the services each may use")
    expect(matrix).to_contain_text("ville@siivous.fi")
    for button in matrix.get_by_role("button").all():  # WCAG 2.5.3: a name begins with what is seen
        seen = button.evaluate("button => button.firstChild.textContent").strip()
        expect(button).to_have_accessible_name(re.compile("^" + re.escape(seen) + r"\b"))
    page.get_by_role("button", name=ALLOW).click()

    member_id = organisations.membership(org, worker).id
    expect(page).to_have_url(f"{live_server}/orgs/{org.id}/members/{member_id}/services/{service.client_id}")
    expect(page.get_by_role("status")).to_have_text("ville@siivous.fi may now use Siivousraportit.")
    # Focus is back on the button pressed, which a screen reader reads out with the outcome.
    changed = page.get_by_role("button", name=REMOVE_ACCESS)
    expect(changed).to_be_focused()
    expect(changed).to_have_accessible_description("ville@siivous.fi may now use Siivousraportit.")
    expect(changed).to_be_in_viewport()
    page.keyboard.press("Tab")  # on from the changed button, not from the top of the page
    expect(page.get_by_role("button", name=named("Remove", "ville@siivous.fi"))).to_be_focused()
    expect(page.get_by_test_id("activity")).to_contain_text("ville@siivous.fi may now use Siivousraportit.")
    page.screenshot(path=str(tmp_path / "org-matrix.png"), full_page=True)

    db.session.expire_all()
    assert organisations.organisations_with_right(worker, service.client) == [org]


def test_a_changed_role_is_read_out_with_the_button_pressed(app, page, live_server, company):
    org, admin, worker, _ = company
    _open_as(page, live_server, org, admin)

    page.get_by_role("button", name=named("Make admin", "ville@siivous.fi")).click()
    changed = page.get_by_role("button", name=named("Make member", "ville@siivous.fi"))
    expect(changed).to_be_focused()
    expect(changed).to_have_accessible_description("ville@siivous.fi is now an admin.")
    expect(page.get_by_role("status")).to_have_text("ville@siivous.fi is now an admin.")


def test_removing_a_member_asks_first_and_cancel_goes_back_to_their_row(app, page, live_server, company):
    org, admin, worker, _ = company
    _open_as(page, live_server, org, admin)
    member_id = organisations.membership(org, worker).id

    page.get_by_role("button", name=named("Remove", "ville@siivous.fi")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove Ville (ville@siivous.fi) from Siivous Oy?")
    page.get_by_role("link", name="Cancel").click()
    expect(page).to_have_url(f"{live_server}/orgs/{org.id}#member-{member_id}")
    db.session.expire_all()
    assert organisations.membership(org, worker) is not None

    page.get_by_role("button", name=named("Remove", "ville@siivous.fi")).click()
    page.get_by_role("button", name="Remove", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("ville@siivous.fi was removed.")
    expect(page.get_by_role("status")).to_be_focused()  # no row to return to: the outcome is read out
    db.session.expire_all()
    assert organisations.membership(org, worker) is None
