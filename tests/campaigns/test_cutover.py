"""Cutover: after it, the old credentials of the targeted legacy system stop working; the
legacy login asks campaigns.legacy_cut_off(system) and shows the reset message."""
import datetime as dt
import re

from idp.extensions import db
from idp.models import LegacyAccount
from idp.services import campaigns, clock
from tests.support.browser import Browser
from tests.support.journeys import sign_in
from tests.support.legacy import imported

from .helpers import cli, legacy_account, person, started

DAY = 24 * 3600


def iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds") + "Z"


def test_old_credentials_stop_working_at_the_cutover_and_nothing_is_deleted(app, runner):
    maija = person("maija@example.fi")
    legacy_account(maija, "kirjasto", "1")
    legacy_account(None, "verkkokauppa", "2")
    cutover = clock.now() + dt.timedelta(days=30)
    campaign_id = cli(runner, "campaigns", "create", "--name", "Kirjasto", "--target", "legacy-system:kirjasto",
                      "--deadline", iso(cutover - dt.timedelta(days=7)), "--cutover", iso(cutover))["id"]
    cli(runner, "campaigns", "create", "--name", "Verkkokauppa", "--target", "legacy-system:verkkokauppa",
        "--deadline", iso(cutover - dt.timedelta(days=7)), "--cutover", iso(cutover))
    assert not campaigns.legacy_cut_off("kirjasto")  # a draft cuts nothing off
    cli(runner, "campaigns", "start", str(campaign_id))
    assert not campaigns.legacy_cut_off("kirjasto")  # nor a started one before its cutover
    clock.advance(31 * DAY)
    assert campaigns.legacy_cut_off("kirjasto")
    assert not campaigns.legacy_cut_off("verkkokauppa")  # a campaign never started cuts nothing off
    assert db.session.execute(db.select(db.func.count()).select_from(LegacyAccount)).scalar_one() == 2


def test_a_target_typed_with_a_space_still_cuts_its_system_off(app, runner):
    legacy_account(person("maija@example.fi"), "kirjasto", "1")
    campaign_id = started(runner, "legacy-system: kirjasto ", cutover="2000-01-01T00:00Z")
    assert campaigns.legacy_cut_off("kirjasto")
    assert campaigns.get(campaign_id).target == "legacy-system:kirjasto"


def test_cutover_is_not_before_its_time_and_not_for_a_cancelled_campaign(app, runner):
    legacy_account(person("a@example.fi"), "kirjasto", "1")
    cutover = clock.now() + dt.timedelta(days=10)
    campaign_id = started(runner, "legacy-system:kirjasto", cutover=iso(cutover))
    assert not campaigns.legacy_cut_off("kirjasto")
    clock.advance(10 * DAY + 1)
    assert campaigns.legacy_cut_off("kirjasto")
    cli(runner, "campaigns", "cancel", str(campaign_id))
    assert not campaigns.legacy_cut_off("kirjasto")


def test_a_cutover_belongs_to_a_legacy_system_target(app, runner):
    result = runner.invoke(args=["campaigns", "create", "--name", "X", "--target", "all",
                                 "--cutover", "2099-01-01T00:00Z"])
    assert result.exit_code != 0 and "only to a legacy-system target" in result.output


def test_a_cutover_before_the_start_is_refused(app, runner):
    """Without a deadline nothing else kept it after the start: the old passwords stopped
    days before the campaign's first mail told anyone to move."""
    legacy_account(person("maija@example.fi"), "kirjasto", "1")
    now = clock.now()
    result = runner.invoke(args=["campaigns", "create", "--name", "X", "--target", "legacy-system:kirjasto",
                                 "--starts", iso(now + dt.timedelta(days=10)),
                                 "--cutover", iso(now + dt.timedelta(days=5))])
    assert result.exit_code != 0 and "The cutover must not come before the start." in result.output

def test_old_passwords_work_until_the_deadline_the_mail_gives(app, runner):
    legacy_account(person("maija@example.fi"), "kirjasto", "1")
    result = runner.invoke(args=["campaigns", "create", "--name", "X", "--target", "legacy-system:kirjasto",
                                 "--deadline", "2099-01-31T16:00Z", "--cutover", "2099-01-01T06:00Z"])
    assert result.exit_code != 0 and "The cutover must not come before the deadline." in result.output


def test_a_target_naming_no_imported_system_or_no_organisation_is_refused(app, runner):
    legacy_account(person("maija@example.fi"), "kirjasto", "1")
    result = runner.invoke(args=["campaigns", "create", "--name", "X", "--target", "legacy-system:Kirjasto"])
    assert result.exit_code != 0
    assert "No accounts were imported from an old system named Kirjasto. Imported systems: kirjasto." in result.output
    result = runner.invoke(args=["campaigns", "create", "--name", "X", "--target", "org:999"])
    assert result.exit_code != 0 and "There is no organisation 999." in result.output


def test_the_old_user_name_works_until_the_cutover_then_points_to_a_reset(app, runner, tmp_path, mailbox):
    imported(tmp_path, "kirjasto", "maija.m", "maija@example.fi", "Maija", verified=True)
    cutover = clock.now() + dt.timedelta(days=30)
    started(runner, "legacy-system:kirjasto", deadline=iso(cutover - dt.timedelta(days=7)), cutover=iso(cutover))

    before = Browser(app)
    before.get("/login")
    sign_in(before, "maija.m", "Kesaloma2019")
    assert "Before you continue" in before.text  # the old credentials open, and the campaign asks

    clock.advance(30 * DAY + 60)
    after = Browser(app)
    after.get("/login")
    sign_in(after, "maija.m", "Kesaloma2019")
    assert "Old user names and passwords no longer work. Reset your password by email to sign in." in after.text
    assert db.session.execute(db.select(db.func.count()).select_from(LegacyAccount)).scalar_one() == 1

    after.get(re.search(r'href="([^"]+)">Reset your password by email<', after.text).group(1))
    assert 'value="maija.m"' in after.text  # the old user name, which the reset takes
    after.submit("/recovery")
    after.submit("/recovery/", code=mailbox.code("maija@example.fi"))
    after.submit("/password", password="uusi pitkä salasana", confirm="uusi pitkä salasana")
    # The reset proved the address and set a new password: the campaign has nothing left to ask.
    assert "Before you continue" not in after.text and "Your account" in after.text


def test_a_failed_email_login_after_a_cutover_points_everyone_to_the_reset(app, runner, tmp_path):
    """Notice 004: after the change, sign in with your email; if you have not changed your
    password, change it. Said to every failed login, so it tells nothing about the address."""
    imported(tmp_path, "yrityspalvelu", "asiakas123", "kaija@yritys.fi", "Kaija", verified=True)
    hint = "Passwords of the old services no longer work"
    before = Browser(app)
    before.get("/login")
    sign_in(before, "ei.ketaan@example.fi", "Kesaloma2019")
    assert before.page.status_code == 401 and hint not in before.text

    cutover = clock.now() + dt.timedelta(days=30)
    started(runner, "legacy-system:yrityspalvelu", deadline=iso(cutover - dt.timedelta(days=7)), cutover=iso(cutover))
    clock.advance(30 * DAY + 60)
    pages = []
    for email in ("kaija@yritys.fi", "ei.ketaan@example.fi"):
        browser = Browser(app)
        browser.get("/login")
        sign_in(browser, email, "Kesaloma2019")
        assert browser.page.status_code == 401 and hint in browser.text
        page = browser.text.replace(email, "EMAIL")
        pages.append(re.sub(r'(/login/|flow=)[\w-]+|name="csrf_token" value="[^"]*"', "", page))
    assert pages[0] == pages[1]
