"""Enforced at login: after the right password, the code and then a new password, before
going back to the service; 'remind me later' once a day until the deadline."""
import datetime as dt
import re

from idp.extensions import db
from idp.services import clock, identities
from idp.services.audit import SYSTEM
from tests.support.browser import Browser
from tests.support.journeys import sign_in
from tests.support.totp import enrolled, sign_in_to_code_step

from .helpers import NEW_PASSWORD, counts, fresh, member, person, started

DAY = 24 * 3600


def login(app, who, password=None):
    browser = Browser(app)
    browser.get("/login")
    sign_in(browser, who.email, password or who.test_password)
    return browser


def test_login_asks_for_the_code_then_a_new_password_before_the_service(app, browser, runner, mailbox, rp):
    maija = person("maija@example.fi", "Maija")
    campaign_id = started(runner, "all", deadline="2099-01-01T12:00")
    browser.get(rp.authorize_url())
    sign_in(browser, maija.email, maija.test_password)
    assert "Before you continue" in browser.text
    assert "Confirm your email address maija@example.fi with a code" in browser.text

    browser.submit("/campaign")
    assert "We sent a 6-digit code to maija@example.fi" in browser.text
    # The password cannot be set before the address is proven.
    early = browser.client.post(browser.url + "/password", data={
        "csrf_token": browser.form("/code")["fields"]["csrf_token"], "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert early.status_code == 302 and member(campaign_id, maija).password_changed_at is None

    browser.submit("/code", code="000000" if mailbox.code(maija.email) != "000000" else "111111")
    assert browser.page.status_code == 400 and "4 tries left" in browser.text
    browser.submit("/code", code=mailbox.code(maija.email))
    assert member(campaign_id, maija).email_verified_at is not None
    assert "Choose a new password" in browser.text

    browser.submit("/password", password=maija.test_password, confirm=maija.test_password)
    assert "different from your current one" in browser.text
    browser.submit("/password", password=NEW_PASSWORD, confirm=NEW_PASSWORD + "x")
    assert "The passwords do not match." in browser.text
    browser.submit("/password", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    if "/authorize/consent/" in browser.text:
        browser.submit("/authorize/consent/", button=("decision", "allow"))
    assert "code" in rp.callback_params(browser.url)  # back to the service, signed in

    got = counts(runner, campaign_id)
    assert (got["email_verified"], got["password_changed"], got["completed"]) == (1, 1, 1)
    assert mailbox.last(maija.email)["Subject"] == "Your Tunnus password was changed"
    again = login(app, maija, NEW_PASSWORD)
    assert again.url.endswith("/account")  # nothing more is asked


def test_an_unproven_address_is_proven_once_then_only_the_password_is_asked(app, browser, runner, mailbox):
    kalle = person("kalle@example.fi", verified=False)
    started(runner, "all")
    browser.get("/login")
    sign_in(browser, kalle.email, kalle.test_password)
    browser.submit("/verify", code=mailbox.code(kalle.email))  # the login's own verification
    assert "Before you continue" in browser.text and "Choose a new password." in browser.text
    assert "with a code" not in browser.text
    browser.submit("/campaign")
    assert "Choose a new password" in browser.text and "/password" in browser.form("/password")["action"]


def test_remind_me_later_works_once_a_day_and_not_after_the_deadline(app, runner, mailbox):
    liisa = person("liisa@example.fi")
    deadline = clock.now() + dt.timedelta(hours=6)
    campaign_id = started(runner, "all", deadline=deadline.isoformat(timespec="seconds") + "Z")
    first = login(app, liisa)
    assert "Remind me later" in first.text
    first.submit("/campaign/later")
    assert first.url.endswith("/account")  # signed in without doing it
    assert member(campaign_id, liisa).snoozed_at is not None

    second = login(app, liisa)
    assert second.url.endswith("/account")  # not asked again the same day

    clock.advance(7 * 3600)  # past the deadline
    third = login(app, liisa)
    assert "The deadline has passed" in third.text and "Remind me later" not in third.text
    refused = third.client.post(third.url + "/later", data={"csrf_token": third.form("/campaign")["fields"]
                                                             ["csrf_token"]})
    assert refused.status_code == 409
    assert third.client.get("/account").status_code == 302  # no session without doing it
    third.submit("/campaign")
    third.submit("/code", code=mailbox.code(liisa.email))
    third.submit("/password", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert third.url.endswith("/account")


def test_remind_me_later_returns_the_next_day(app, runner):
    olli = person("olli@example.fi")
    started(runner, "all", deadline="2099-01-01T12:00")
    login(app, olli).submit("/campaign/later")
    clock.advance(DAY + 60)
    next_day = login(app, olli)
    assert "Before you continue" in next_day.text and "Remind me later" in next_day.text
    next_day.submit("/campaign/later")
    assert next_day.url.endswith("/account")


def test_a_password_changed_elsewhere_counts_for_the_campaign(app, runner):
    pirkko = person("pirkko@example.fi")
    campaign_id = started(runner, "all", require="change_password")
    identities.set_password(fresh(pirkko), NEW_PASSWORD, origin=SYSTEM, reason="change")
    db.session.commit()
    done = member(campaign_id, pirkko)
    assert done.password_changed_at is not None and done.completed_at is not None
    assert login(app, pirkko, NEW_PASSWORD).url.endswith("/account")


def test_nothing_is_asked_before_the_start_time_or_after_cancelling(app, runner):
    aino = person("aino@example.fi")
    starts = clock.now() + dt.timedelta(days=2)
    campaign_id = started(runner, "all", starts=starts.isoformat(timespec="seconds") + "Z")
    assert login(app, aino).url.endswith("/account")
    clock.advance(2 * DAY + 60)
    assert "Before you continue" in login(app, aino).text
    runner.invoke(args=["campaigns", "cancel", str(campaign_id)])
    assert login(app, aino).url.endswith("/account")


def test_the_second_factor_comes_first_then_the_campaign(app, browser, runner, mailbox):
    from tests.support.totp import app_code, enrolled, sign_in_to_code_step

    tuula = person("tuula@example.fi")
    secret, _ = enrolled(app, tuula)
    started(runner, "all", require="change_password")
    sign_in_to_code_step(browser, tuula)
    assert "Before you continue" not in browser.text
    browser.submit("/totp", code=app_code(secret))
    assert "Before you continue" in browser.text and "Choose a new password." in browser.text
    browser.submit("/campaign")
    assert "Setting a new password signs you out on every other device and app." in browser.text
    browser.submit("/password", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert browser.url.endswith("/account")


def test_when_the_code_cannot_be_mailed_the_page_says_so(app, browser, runner, smtp_down):
    veikko = person("veikko@example.fi")
    started(runner, "all")
    browser.get("/login")
    sign_in(browser, veikko.email, veikko.test_password)
    browser.submit("/campaign")
    assert "We could not send the email." in browser.text


def test_the_campaign_step_waits_for_the_second_factor(app, runner, mailbox):
    """The password alone must not change the password and end every session."""
    tuula = person("tuula@example.fi")
    enrolled(app, tuula)
    campaign_id = started(runner, "all", require="change_password")
    attacker = Browser(app)
    sign_in_to_code_step(attacker, tuula)
    login_id = re.search(r"/login/([^/]+)/totp", attacker.url).group(1)
    token = attacker.form("/totp")["fields"]["csrf_token"]

    for path in (f"/login/{login_id}/campaign", f"/login/{login_id}/campaign/later"):
        page = attacker.client.post(path, data={"csrf_token": token})
        assert page.status_code == 302 and page.headers["Location"].endswith(f"/login/{login_id}")
    attacker.get(f"/login/{login_id}/campaign")
    assert "/totp" in attacker.url
    done = member(campaign_id, tuula)
    assert done.password_changed_at is None and done.snoozed_at is None


def test_people_behind_one_address_each_get_their_code_at_the_step(app, runner, mailbox):
    """An office, a library's computers or a kiosk: everyone signs in from one IP. Before,
    the step counted against the per-IP mail limit of registrations (5 in 10 minutes): the
    sixth colleague was held, and after the deadline reached no service."""
    colleagues = [person(f"h{n}@firma.fi", f"Henkilö {n}") for n in range(7)]
    started(runner, "all", deadline="2099-01-01T12:00")
    for colleague in colleagues:
        browser = Browser(app)
        browser.client.environ_base["REMOTE_ADDR"] = "198.51.100.10"
        browser.get("/login")
        sign_in(browser, colleague.email, colleague.test_password)
        browser.submit("/campaign")
        assert browser.page.status_code == 200 and f"We sent a 6-digit code to {colleague.email}" in browser.text
    assert len(mailbox.messages) == 7


def test_a_second_campaign_past_its_deadline_is_asked_after_the_first(app, browser, runner, mailbox):
    """Before, finishing the first campaign marked the login's whole campaign step done: the
    login went on without the second one's new password, past its deadline too."""
    maija = person("maija@example.fi", "Maija")
    now = clock.now()
    first = started(runner, "all", name="Osoitteet", require="verify_email",
                    deadline=(now + dt.timedelta(days=1)).isoformat(timespec="seconds") + "Z")
    second = started(runner, "all", name="Salasanat", require="change_password",
                     deadline=(now + dt.timedelta(days=2)).isoformat(timespec="seconds") + "Z")
    clock.advance(3 * DAY)
    browser.get("/login")
    sign_in(browser, maija.email, maija.test_password)
    browser.submit("/campaign")
    browser.submit("/code", code=mailbox.code(maija.email))
    assert member(first, maija).completed_at is not None
    assert "The deadline has passed" in browser.text and "Choose a new password." in browser.text
    assert browser.client.get("/account").status_code == 302  # no session yet
    browser.submit("/campaign")
    browser.submit("/password", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert browser.url.endswith("/account") and member(second, maija).completed_at is not None


def test_a_campaign_cancelled_at_its_code_lets_the_login_go_on(app, browser, runner, mailbox):
    maija = person("maija@example.fi", "Maija")
    campaign_id = started(runner, "all", deadline="2099-01-01T12:00")
    browser.get("/login")
    sign_in(browser, maija.email, maija.test_password)
    browser.submit("/campaign")
    runner.invoke(args=["campaigns", "cancel", str(campaign_id)])
    browser.submit("/code", code=mailbox.code(maija.email))
    assert browser.url.endswith("/account") and member(campaign_id, maija).email_verified_at is None


def test_a_double_click_on_the_code_shows_the_next_page_not_a_code_error(app, browser, runner, mailbox):
    maija = person("maija@example.fi", "Maija")
    started(runner, "all", deadline="2099-01-01T12:00")
    browser.get("/login")
    sign_in(browser, maija.email, maija.test_password)
    browser.submit("/campaign")
    form = browser.form("/code")
    code = mailbox.code(maija.email)
    first = browser.client.post(form["action"], data={**form["fields"], "code": code})
    second = browser.client.post(form["action"], data={**form["fields"], "code": code})
    assert first.status_code == second.status_code == 302
    assert "Choose a new password" in browser.get(second.headers["Location"]).text
