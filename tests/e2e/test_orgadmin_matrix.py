"""An organisation admin grants a member a service in the matrix, in a real browser."""
from playwright.sync_api import expect

from idp.extensions import db
from idp.services import organisations
from tests.support.orgs import organisation, person
from tests.support.rp import RelyingParty


def test_admin_grants_a_right_in_the_matrix(app, page, live_server, tmp_path):
    service = RelyingParty.register(app, name="Siivousraportit")
    service.client.org_mode = "business"
    admin, worker = person("pirjo@siivous.fi", "Pirjo"), person("ville@siivous.fi", "Ville")
    org = organisation("Siivous Oy", "0737546-2", admin, [worker])
    db.session.commit()

    page.goto(f"{live_server}/orgs/{org.id}")
    page.get_by_label("Email address").fill(admin.email)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password", exact=True).fill(admin.test_password)
    page.get_by_role("button", name="Sign in", exact=True).click()

    matrix = page.get_by_test_id("rights-matrix")
    expect(matrix).to_contain_text("ville@siivous.fi")
    cell = page.get_by_role("button", name="Siivousraportit for ville@siivous.fi")
    expect(cell).to_have_attribute("aria-pressed", "false")
    cell.click()
    expect(page.get_by_role("status")).to_contain_text("The service access was updated.")
    expect(page.get_by_role("button", name="Siivousraportit for ville@siivous.fi")).to_have_attribute(
        "aria-pressed", "true")
    expect(page.get_by_test_id("activity")).to_contain_text("ville@siivous.fi may now use Siivousraportit.")
    page.screenshot(path=str(tmp_path / "org-matrix.png"), full_page=True)

    db.session.expire_all()
    assert organisations.organisations_with_right(worker, service.client) == [org]
