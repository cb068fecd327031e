"""Progress counted from the rows: equal to what people did, also when two app processes
handle people at the same time; the pending list and its CSV."""
import csv
import io
import threading

from idp import create_app
from idp.services import clock
from tests.conftest import IsolatedClient
from tests.support.browser import Browser
from tests.support.journeys import sign_in

from .helpers import (NEW_PASSWORD, campaign_link, cli, counts, deliver, deliver_refusing, local, member, person,
                      started)

DAY = 24 * 3600


def follow_link(browser, mailbox, address, password=NEW_PASSWORD):
    browser.get(local(campaign_link(mailbox, address)))
    browser.submit("/campaign/")
    if password:
        browser.submit("/password", password=password, confirm=password)


def test_status_counts_equal_what_the_journeys_did(app, runner, mailbox):
    people = [person(f"h{n}@example.fi", f"Henkilö {n}") for n in range(6)]
    campaign_id = started(runner, "all", deadline="2099-01-01T12:00")
    deliver_refusing(mailbox, "h5@example.fi")                      # h5: bounced
    follow_link(Browser(app), mailbox, "h0@example.fi")             # h0: everything by the link
    follow_link(Browser(app), mailbox, "h1@example.fi", None)       # h1: confirmed the address only
    Browser(app).get(local(campaign_link(mailbox, "h2@example.fi")))  # h2: opened, never confirmed
    clock.advance(DAY)
    at_login = Browser(app)                                         # h3: everything at login, a day later
    at_login.get("/login")
    sign_in(at_login, people[3].email, people[3].test_password)
    at_login.submit("/campaign")
    at_login.submit("/code", code=mailbox.code("h3@example.fi"))
    at_login.submit("/password", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
                                                                    # h4: nothing yet

    status = cli(runner, "campaigns", "status", "--daily", str(campaign_id))
    assert status["counts"] == {"targeted": 6, "mailed": 6, "delivered": 5, "bounced": 1, "logged": 0,
                                "link_opened": 2,
                                "email_verified": 3, "password_changed": 2, "completed": 2}
    first, second = status["daily"]
    assert (first["delivered"], first["bounced"], first["link_opened"], first["email_verified"],
            first["completed"]) == (5, 1, 2, 2, 1)
    assert (second["email_verified"], second["password_changed"], second["completed"]) == (1, 1, 1)

    pending = list(csv.DictReader(io.StringIO(
        runner.invoke(args=["campaigns", "pending", str(campaign_id), "--csv"]).output)))
    assert [(row["email"], row["missing"]) for row in pending] == [
        ("h1@example.fi", "change_password"), ("h2@example.fi", "verify_email change_password"),
        ("h4@example.fi", "verify_email change_password"), ("h5@example.fi", "verify_email change_password")]
    assert "550" in pending[-1]["bounced"]
    text = runner.invoke(args=["campaigns", "status", str(campaign_id)]).output
    assert "completed        2" in text


def test_counts_stay_right_when_two_app_processes_handle_people_at_once(app, base_config, runner, mailbox):
    for n in range(8):
        person(f"h{n}@example.fi")
    campaign_id = started(runner, "all")
    deliver()
    links = {f"h{n}@example.fi": local(campaign_link(mailbox, f"h{n}@example.fi")) for n in range(8)}
    # Two separately created apps: separate engines and connection pools, as two processes have.
    apps = [create_app(base_config) for _ in range(2)]
    errors = []

    def journeys(process, addresses):
        process.test_client_class = IsolatedClient
        try:
            for address in addresses:
                browser = Browser(process)
                browser.get(links[address])
                browser.submit("/campaign/")
                browser.submit("/password", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
                assert "All done" in browser.text, browser.text
        except Exception as error:  # reported below; a thread's exception would be lost
            errors.append(error)

    threads = [threading.Thread(target=journeys, args=(apps[n % 2], [a for i, a in enumerate(links) if i % 2 == n]))
               for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    got = counts(runner, campaign_id)
    assert (got["link_opened"], got["email_verified"], got["password_changed"], got["completed"]) == (8, 8, 8, 8)


def test_pending_can_be_searched(app, runner):
    person("anna.aalto@example.fi", "Anna Aalto")
    person("bertta@example.fi", "Bertta Aalto")
    person("cecilia@example.fi", "Cecilia")
    campaign_id = started(runner, "all")
    found = cli(runner, "campaigns", "pending", str(campaign_id), "--search", "aalto")
    assert [row["email"] for row in found] == ["anna.aalto@example.fi", "bertta@example.fi"]
    assert cli(runner, "campaigns", "pending", str(campaign_id), "--search", "100%") == []


def test_a_search_in_lower_case_finds_a_name_beginning_with_a_capital_beyond_ascii(app, runner):
    """Before, on SQLite (lower() folds ASCII only), "äiti" did not find "Äiti Åberg"."""
    person("aiti@example.fi", "Äiti Åberg")
    campaign_id = started(runner, "all")
    for typed in ("äiti", "ÄITI", "åberg"):
        found = cli(runner, "campaigns", "pending", str(campaign_id), "--search", typed)
        assert [row["email"] for row in found] == ["aiti@example.fi"], typed


def test_a_password_reset_by_email_settles_both_steps(app, runner, mailbox):
    """The reset's mailed code proves the address and sets a new password: what a campaign
    asking both wants, so the next sign-in goes straight through."""
    maija = person("maija@example.fi", "Maija")
    campaign_id = started(runner, "all", deadline="2099-01-01T12:00")
    browser = Browser(app)
    browser.get(f"/recovery?email={maija.email}")
    browser.submit("/recovery", email=maija.email)
    browser.submit("/recovery/", code=mailbox.code(maija.email))
    browser.submit("/password", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert "Before you continue" not in browser.text and "Your account" in browser.text
    assert member(campaign_id, maija).completed_at is not None
