"""The mailed link: confirm the address, set a new password, in one visit."""
import re

import sqlalchemy as sa

from idp.extensions import db
from idp.models import AuditEvent, Identity
from idp.services import campaigns, clock, identities, passwords
from tests.support.browser import Browser
from tests.support.journeys import sign_in
from tests.support.totp import app_code, enrol, enrolled

from .helpers import NEW_PASSWORD, campaign_link, counts, deliver, fresh, local, member, person, started

SQUATTER = "hyökkääjän oma salasana"


def test_link_confirms_the_address_and_sets_a_new_password_in_one_visit(app, browser, runner, mailbox):
    maija = person("maija@example.fi", "Maija", verified=False)
    campaign_id = started(runner, "all", deadline="2099-01-01T12:00")
    deliver()
    link = campaign_link(mailbox, "maija@example.fi")

    browser.get(local(link))
    assert "Continue to confirm that this email address is yours." in browser.text
    assert member(campaign_id, maija).link_opened_at is None  # a fetch (mail scanner) is not an open

    browser.submit("/campaign/")
    assert member(campaign_id, maija).link_opened_at is not None
    assert "To confirm your email address maija@example.fi, choose a new password" in browser.text

    browser.submit("/password", password=maija.test_password, confirm=maija.test_password)
    assert browser.page.status_code == 400 and "different from your current one" in browser.text
    browser.submit("/password", password="password123", confirm="password123")
    assert "most common" in browser.text

    assert not fresh(maija).email_verified
    browser.submit("/password", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert "All done" in browser.text and "your email address and your new password" in browser.text
    assert fresh(maija).email_verified
    assert browser.client.get("/account").status_code == 302  # the link signed in to nothing
    done = member(campaign_id, maija)
    assert done.email_verified_at and done.password_changed_at and done.completed_at
    assert counts(runner, campaign_id)["completed"] == 1

    browser.get(local(link))
    assert "Already done" in browser.text


def squatted():
    """An account someone made with another's address, never proven: registration made
    such accounts before it waited for the proof, and they are still there."""
    identities.create("uhri@example.fi", SQUATTER, "Uhri")


def test_an_address_someone_else_registered_is_proven_only_with_a_new_password(app, runner, mailbox):
    """Anyone can register any address; the owner's click must not hand that person a
    verified account, neither by leaving at the password step nor after it."""
    squatted()
    started(runner, "all", require="verify_email", deadline="2099-01-01T12:00")
    deliver()
    owner = Browser(app)
    owner.get(local(campaign_link(mailbox, "uhri@example.fi")))
    owner.submit("/campaign/")
    assert "To confirm your email address uhri@example.fi, choose a new password" in owner.text
    victim = Identity.by_email("uhri@example.fi")
    assert not fresh(victim).email_verified  # the owner left here: nothing changed

    owner.submit("/password", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert "All done" in owner.text and fresh(victim).email_verified
    late = Browser(app)
    late.get("/login")
    sign_in(late, "uhri@example.fi", SQUATTER)
    assert not late.url.endswith("/account")


def test_a_refused_new_password_proves_no_address(app, runner, mailbox):
    """Even when something else on the page commits (here the sessions list's last-seen
    time of the browser's own Tunnus session, after a while)."""
    squatted()
    started(runner, "all", require="verify_email", deadline="2099-01-01T12:00")
    deliver()
    neighbour = person("naapuri@example.fi")
    owner = Browser(app)
    owner.get("/login")
    sign_in(owner, neighbour.email, neighbour.test_password)
    owner.get(local(campaign_link(mailbox, "uhri@example.fi")))
    owner.submit("/campaign/")
    clock.advance(360)
    owner.submit("/password", password="short", confirm="short")
    assert owner.page.status_code == 400
    assert not fresh(Identity.by_email("uhri@example.fi")).email_verified


def test_a_link_mailed_to_an_address_the_person_has_left_opens_nothing(app, browser, runner, mailbox):
    maija = person("maija@vanha.fi", "Maija")
    started(runner, "all", deadline="2099-01-01T12:00")
    deliver()
    old_link = local(campaign_link(mailbox, "maija@vanha.fi"))
    fresh(maija).set_email("maija@uusi.fi")
    db.session.commit()

    browser.get(old_link)
    assert browser.page.status_code == 404 and "This link is not valid" in browser.text


def test_the_link_expires_at_the_deadline(app, browser, runner, mailbox):
    person("a@example.fi")
    campaign_id = started(runner, "all", deadline="2099-01-01T12:00Z")
    deliver()
    link = local(campaign_link(mailbox, "a@example.fi"))
    browser.get(link)
    assert browser.page.status_code == 200
    clock.advance((campaigns.get(campaign_id).deadline_at - clock.now()).total_seconds() + 1)
    browser.get(link)
    assert browser.page.status_code == 410 and "The deadline of this request has passed" in browser.text


def test_a_tampered_link_is_refused(app, browser, runner, mailbox):
    person("a@example.fi")
    started(runner, "all")
    deliver()
    link = local(campaign_link(mailbox, "a@example.fi"))
    member_id, signature = link.split("/")[-2:]
    browser.get(f"/campaign/{int(member_id) + 1}/{signature}")
    assert browser.page.status_code == 404 and "This link is not valid" in browser.text
    browser.get(f"/campaign/{member_id}/{signature[:-1]}{'1' if signature.endswith('0') else '0'}")
    assert browser.page.status_code == 404


def test_after_the_link_the_new_password_signs_in(app, browser, runner, mailbox):
    pekka = person("pekka@example.fi")
    started(runner, "all", require="change_password")
    deliver()
    browser.get(local(campaign_link(mailbox, "pekka@example.fi")))
    assert "Then choose a new password." in browser.text
    browser.submit("/campaign/")
    browser.submit("/password", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    browser.get("/login")
    sign_in(browser, pekka.email, NEW_PASSWORD)
    assert browser.url.endswith("/account")


def test_on_an_account_with_a_second_factor_the_link_alone_changes_no_password(app, runner, mailbox):
    """The link proves only the mailbox: the new password is asked at sign-in, after the
    second factor, so whoever reads the mail cannot lock the owner out or sign them out."""
    maija = person("maija@example.fi", "Maija")
    owner = Browser(app)
    owner.get("/login")
    sign_in(owner, maija.email, maija.test_password)
    secret, _ = enrol(owner, maija)
    campaign_id = started(runner, "all", deadline="2099-01-01T12:00")
    deliver()

    reader = Browser(app)
    reader.get(local(campaign_link(mailbox, "maija@example.fi")))
    reader.submit("/campaign/")
    assert "Sign in to choose your new password" in reader.text
    assert "the email alone is not enough to change your password" in reader.text
    assert 'autocomplete="new-password"' not in reader.text
    assert member(campaign_id, maija).email_verified_at is not None  # the address is proven, no more
    assert member(campaign_id, maija).password_changed_at is None
    owner.get("/account")
    assert "Your account" in owner.text
    assert AuditEvent.query.filter_by(event="session.ended_all").count() == 0

    reader.get(re.search(r'<a href="([^"]+)">Sign in<', reader.text)[1].replace("&amp;", "&"))
    reader.submit("/password", password=maija.test_password)
    assert "/totp" in reader.url
    reader.submit("/totp", code=app_code(secret))
    reader.submit("/campaign")
    reader.submit("/password", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert "Your account" in reader.text and member(campaign_id, maija).completed_at is not None


def test_in_finnish_the_link_of_an_account_with_a_second_factor_asks_to_sign_in(app, runner, mailbox):
    maija = person("maija@example.fi", "Maija")
    enrolled(app, maija)
    started(runner, "all", deadline="2099-01-01T12:00")
    deliver()
    reader = Browser(app)
    reader.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fi"
    reader.get(local(campaign_link(mailbox, "maija@example.fi")))
    reader.submit("/campaign/")
    assert "<h1>Kirjaudu sisään valitaksesi uuden salasanan</h1>" in reader.text
    assert "pelkkä sähköposti ei riitä salasanan vaihtamiseen" in reader.text


def test_the_outbox_holds_no_campaign_link_yet_the_mailed_one_works(app, browser, runner, mailbox):
    """Someone with a copy of the database finds no link to act as anyone with; the link is
    made as the mail leaves, for the address it goes to."""
    person("maija@example.fi", "Maija")
    mover = person("muuttaja@vanha.fi", "Muuttaja")
    started(runner, "all", deadline="2099-01-01T12:00")
    stored = db.session.execute(sa.text("SELECT text, html FROM mail_outbox")).all()
    assert len(stored) == 2 and not any("/campaign/" in body for row in stored for body in row)
    fresh(mover).set_email("muuttaja@uusi.fi")  # before their mail leaves, to the old address
    db.session.commit()
    deliver()

    browser.get(local(campaign_link(mailbox, "maija@example.fi")))
    assert browser.page.status_code == 200 and "Continue to confirm" in browser.text
    browser.get(local(campaign_link(mailbox, "muuttaja@vanha.fi")))
    assert browser.page.status_code == 404 and "This link is not valid" in browser.text


def test_the_new_password_may_not_be_the_old_systems_password(app, browser, runner, tmp_path, mailbox):
    """Someone imported who has not signed in since: the old system's password is still the
    current one, and the campaign is there to replace it (it may have leaked with that
    system). Before, only the account's own hash was compared, and there was none."""
    from tests.support.legacy import imported

    old = "vanha kirjaston salasana 1987"
    maija = imported(tmp_path, "kirjasto", "maija.m", "maija@example.fi", "Maija", password=old, verified=True)
    assert fresh(maija).password_hash is None
    campaign_id = started(runner, "legacy-system:kirjasto", deadline="2099-01-01T12:00")
    deliver()
    browser.get(local(campaign_link(mailbox, "maija@example.fi")))
    browser.submit("/campaign/")
    browser.submit("/password", password=old, confirm=old)
    assert browser.page.status_code == 400 and "different from your current one" in browser.text
    assert member(campaign_id, maija).password_changed_at is None
    browser.submit("/password", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert "All done" in browser.text


def test_a_campaign_cancelled_after_the_link_was_confirmed_sets_no_password(app, browser, runner, mailbox):
    maija = person("maija@example.fi", "Maija")
    campaign_id = started(runner, "all", deadline="2099-01-01T12:00")
    deliver()
    browser.get(local(campaign_link(mailbox, "maija@example.fi")))
    browser.submit("/campaign/")
    assert "Choose a new password" in browser.text
    runner.invoke(args=["campaigns", "cancel", str(campaign_id)])
    browser.submit("/password", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    assert browser.page.status_code == 410 and "This request was withdrawn" in browser.text
    assert not passwords.verify(fresh(maija).password_hash, NEW_PASSWORD)
    assert member(campaign_id, maija).password_changed_at is None


def test_the_done_page_speaks_of_a_new_password_only_when_one_was_set(app, browser, runner, mailbox):
    person("maija@example.fi", "Maija")
    started(runner, "all", require="verify_email", deadline="2099-01-01T12:00")
    deliver()
    browser.get(local(campaign_link(mailbox, "maija@example.fi")))
    browser.submit("/campaign/")
    assert "All done" in browser.text and "your new password" not in browser.text
