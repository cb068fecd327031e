"""The account page says whether and how the person was identified strongly, and offers
the providers to identify with when not."""
from __future__ import annotations

import datetime as dt
import html
import json
import re
from zoneinfo import ZoneInfo

from babel.dates import format_date

from idp.extensions import db
from idp.methods.levels import ACR_STRONG
from idp.models import AuditEvent, Identity, LoginSession, UpstreamLink
from idp.services import clock
from tests.support.journeys import sign_in
from tests.support.smtp import Mailbox
from tests.support.upstream import identify_at_bank

VERIFIED_NAME = "Maija Annikki Meikäläinen"


def test_account_page_offers_identification_then_says_who_identified_the_person(app, browser, bank,
                                                                                   upstream_tunnus, user):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    assert "Strong identification" in browser.text and "Identify with Pankki" in browser.text
    assert "Identified with" not in browser.text

    upstream_tunnus.person("maija@pankki.example", VERIFIED_NAME)
    browser.submit("/identify/pankki")
    identify_at_bank(browser, "maija@pankki.example")
    browser.submit("/identify/password/", current_password=user.test_password)  # new to the account
    assert "/account" in browser.url
    today = clock.now().replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(app.config["IDP_TIMEZONE"]))
    assert (f"Identified with Pankki on {format_date(today, 'long', locale='en')}, name {VERIFIED_NAME}."
            in browser.text)
    assert "Identify with Pankki" not in browser.text

    browser.get("/language/fi")
    browser.get("/account")
    assert (f"Tunnistettu {format_date(today, 'long', locale='fi')} palvelulla Pankki. Nimi: {VERIFIED_NAME}."
            in browser.text)


def test_without_providers_the_account_page_has_no_identification_section(browser, user):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    assert "Strong identification" not in browser.text


def test_an_account_made_by_identifying_sets_a_password_before_sensitive_changes(browser, bank, matti, rp, mailbox):
    """No password to ask: a signed-in session alone must not turn on a second factor, so
    the page leads to setting a password first, and then asks it as for everyone."""
    email, _name, _ = matti
    browser.get(rp.authorize_url())
    browser.submit("/identify/pankki")
    identify_at_bank(browser, email)
    browser.submit("/identify/email/", email=email)
    browser.submit("/code", code=mailbox.code(email))
    browser.get("/account")
    assert "Your account has no password yet." in browser.text and 'name="new_password"' not in browser.text

    browser.get("/account/totp/setup")
    assert "this change needs one" in browser.text and 'name="current_password"' not in browser.text
    browser.submit("/account/totp/setup", code="123456")
    assert browser.page.status_code == 400 and "this change needs one" in browser.text

    browser.get(html.unescape(re.search(r'<a href="([^"]+)">Set a password</a>', browser.text).group(1)))
    assert browser.form("/recovery")["fields"]["email"] == email
    browser.submit("/recovery")
    browser.submit("/recovery/", code=mailbox.code(email))
    browser.submit("/password", password="lumikko juoksee hangella", confirm="lumikko juoksee hangella")
    browser.get("/account/totp/setup")
    assert 'name="current_password"' in browser.text


def test_identifying_on_a_borrowed_session_links_nothing_without_the_password(app, browser, bank, upstream_tunnus,
                                                                               user, mailbox):
    """The owner signed in on a shared computer and walked away: whoever identifies there
    with their own bank ID is asked the account's password before it becomes a way in."""
    user.locale = "en"
    db.session.commit()
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    upstream_tunnus.person("mallory@example.fi", "Mallory Malicious")
    browser.submit("/identify/pankki")
    identify_at_bank(browser, "mallory@example.fi")
    assert "/identify/password/" in browser.url and "Type the account's password to link it." in browser.text
    assert UpstreamLink.query.count() == 0 and LoginSession.query.one().acr != ACR_STRONG

    browser.submit("/identify/password/", current_password="a guess")
    assert browser.page.status_code == 400 and "Your current password is not correct." in browser.text
    assert UpstreamLink.query.count() == 0
    assert AuditEvent.query.filter_by(event="upstream.linked", result="failure").one().details["reason"] == \
        "wrong_password"

    browser.submit("/identify/password/", current_password=user.test_password)
    assert "/account" in browser.url and "name Mallory Malicious" in browser.text
    assert UpstreamLink.query.one().identity_id == user.id and LoginSession.query.one().acr == ACR_STRONG
    notice = mailbox.last(user.email)  # told at once, in case it was not them
    assert notice["Subject"] == "A bank identification was linked to your Tunnus account"
    assert "the identification of Pankki (name Mallory Malicious) was linked to the Tunnus account " \
        f"{user.email}" in " ".join(Mailbox.text(notice).split())


def test_a_step_up_with_the_identification_linked_before_asks_no_password(browser, bank, upstream_tunnus, user):
    upstream_tunnus.person(user.email, VERIFIED_NAME)
    browser.get("/login")
    browser.submit("/identify/pankki")
    identify_at_bank(browser, user.email)  # linked at this login
    browser.get("/logout")
    browser.submit("/logout")
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    browser.get("/identify?purpose=step_up")
    browser.submit("/identify/pankki")
    identify_at_bank(browser, user.email)
    assert "/account" in browser.url and LoginSession.query.filter_by(ended_at=None).one().acr == ACR_STRONG


def test_the_owner_removes_a_link_someone_else_made_and_identifies_with_their_own(app, browser, bank,
                                                                                  upstream_tunnus, user):
    """Someone linked their own bank ID (the owner's password seen over a shoulder, say). The
    account page lists it; with the password the owner removes it, which logs out the
    sessions it may have opened, and can then identify with their own."""
    upstream_tunnus.person("mallory@example.fi", "Mallory Malicious")
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    browser.submit("/identify/pankki")
    identify_at_bank(browser, "mallory@example.fi")
    browser.submit("/identify/password/", current_password=user.test_password)
    mallory_elsewhere = type(browser)(app, upstream_tunnus)
    mallory_elsewhere.get("/login")
    sign_in(mallory_elsewhere, user.email, user.test_password)

    owner = type(browser)(app, upstream_tunnus)
    owner.get("/login")
    sign_in(owner, user.email, user.test_password)
    assert "These identifications sign in to your account:" in owner.text
    assert "Pankki, name Mallory Malicious, linked on" in owner.text
    owner.submit("/account/identification/", current_password="a guess")
    assert owner.page.status_code == 400 and "Your current password is not correct." in owner.text
    assert UpstreamLink.query.count() == 1

    owner.submit("/account/identification/", current_password=user.test_password)
    assert "Your Pankki identification was removed from your account." in owner.text
    assert UpstreamLink.query.count() == 0 and "Mallory" not in owner.text and "Identify with Pankki" in owner.text
    assert AuditEvent.query.filter_by(event="upstream.unlinked", result="success").count() == 1
    assert LoginSession.query.filter(LoginSession.ended_at.is_(None)).count() == 1  # the owner's own
    assert db.session.get(Identity, user.id).verified_name is None

    upstream_tunnus.person(user.email, VERIFIED_NAME)
    owner.submit("/identify/pankki")
    identify_at_bank(owner, user.email)
    owner.submit("/identify/password/", current_password=user.test_password)
    assert f"name {VERIFIED_NAME}" in owner.text and UpstreamLink.query.one().identity_id == user.id


def test_an_operator_removes_a_link_with_a_reason(runner, bank, user):
    db.session.add(UpstreamLink(upstream_id=bank.id, subject="mallory-sub", identity_id=user.id,
                                verified_name="Mallory Malicious"))
    db.session.commit()
    args = ["users", "unlink-upstream", "--email", user.email, "--provider", "pankki"]
    assert runner.invoke(args=args + ["--reason", "  "]).exit_code != 0
    result = runner.invoke(args=args + ["--reason", "ticket 42: not the owner's bank ID", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"email": user.email, "provider": "Pankki", "unlinked": True}
    assert UpstreamLink.query.count() == 0
    event = AuditEvent.query.filter_by(event="upstream.unlinked").one()
    assert event.details["reason"] == "ticket 42: not the owner's bank ID"
    again = runner.invoke(args=args + ["--reason", "again"])
    assert again.exit_code != 0 and "has no identification of Pankki linked" in again.output
