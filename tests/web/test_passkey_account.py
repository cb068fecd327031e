"""Passkeys on the account page: adding (named, after the password), the list, renaming
and deleting (after the password), with the software authenticator as the device."""
import json
import re

from idp.models import AuditEvent, Passkey
from idp.services import identities
from tests.support import passkeys
from tests.support.browser import Browser
from tests.support.journeys import sign_in
from tests.support.webauthn_authenticator import Authenticator


def signed_in(app, who, password=None):
    browser = Browser(app)
    browser.get("/login")
    sign_in(browser, who.email, password or who.test_password)
    return browser


def listed(browser) -> list[str]:
    browser.get("/account/passkeys")
    return re.findall(r'<strong id="passkey-\d+">([^<]+)</strong>', browser.text)


def passkey_id(browser, name) -> int:
    return int(re.search(rf'<strong id="passkey-(\d+)">{name}</strong>', browser.text).group(1))


def events(name) -> list[AuditEvent]:
    return AuditEvent.query.filter_by(event=name).order_by(AuditEvent.id).all()


def test_add_two_passkeys_rename_one_and_delete_the_other(browser, user):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    browser.get("/account")
    assert "Add a passkey" in browser.text

    passkeys.add(browser, user, Authenticator(synced=True), "  My   phone ")
    assert "The passkey My phone was added. You can now sign in with it." in browser.text
    passkeys.add(browser, user, Authenticator(), "Security key")
    assert listed(browser) == ["My phone", "Security key"]
    assert browser.text.count("not used yet") == 2
    browser.get("/account")
    assert "You have 2 passkeys." in browser.text

    browser.get("/account/passkeys")
    phone, key = passkey_id(browser, "My phone"), passkey_id(browser, "Security key")
    browser.submit(f"/account/passkeys/{phone}/rename", name="Work\x1b[2J phone")
    assert "The passkey is now called Work[2J phone." in browser.text
    browser.submit(f"/account/passkeys/{phone}/rename", name="Work phone")
    assert "The passkey is now called Work phone." in browser.text

    browser.submit(f"/account/passkeys/{key}/delete", current_password="not my password")
    assert browser.page.status_code == 400 and "Your current password is not correct." in browser.text
    browser.submit(f"/account/passkeys/{key}/delete", current_password=user.test_password)
    assert "The passkey Security key was deleted." in browser.text
    assert listed(browser) == ["Work phone"]

    assert [e.details["synced"] for e in events("passkey.added")] == [True, False]
    assert len(events("passkey.renamed")) == 2
    assert [e.result for e in events("passkey.deleted")] == ["failure", "success"]


def test_adding_needs_a_name_and_the_current_password(browser, user):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    browser.get("/account/passkeys")
    browser.submit("/account/passkeys/new", name=" ", current_password=user.test_password)
    assert browser.page.status_code == 400 and "Give the passkey a name" in browser.text
    browser.submit("/account/passkeys/new", name="My phone", current_password="wrong password")
    assert browser.page.status_code == 400 and "Your current password is not correct." in browser.text
    assert 'value="My phone"' in browser.text  # the name typed is kept
    assert Passkey.query.count() == 0


def test_an_answer_for_another_origin_is_not_added(browser, user):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    passkeys.add(browser, user, Authenticator(), "My phone", origin="https://tunnus.example.evil")
    assert "The passkey could not be verified. Try again." in browser.text
    assert Passkey.query.count() == 0
    assert events("passkey.added")[-1].result == "failure"


def test_a_credential_id_longer_than_webauthn_allows_is_not_added_and_the_longest_is(browser, user):
    """Before, on PostgreSQL, one longer than its column was a 500."""
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    passkeys.add(browser, user, Authenticator(id_length=1100), "Too long")
    assert "The passkey could not be verified. Try again." in browser.text and Passkey.query.count() == 0
    assert events("passkey.added")[-1].details["reason"] == "credential_id_too_long"
    passkeys.add(browser, user, Authenticator(id_length=1023), "Longest")
    assert listed(browser) == ["Longest"]


def test_an_answer_is_added_once_and_only_to_the_account_that_asked(app, browser, user):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    browser.get("/account/passkeys")
    browser.submit("/account/passkeys/new", name="My phone", current_password=user.test_password)
    form = browser.form("/account/passkeys/register")
    answer = json.dumps(Authenticator().create(passkeys.inline_options(browser.text)))
    browser.submit("/account/passkeys/register", credential=answer)
    assert "was added" in browser.text
    replay = browser.client.post("/account/passkeys/register", data={**form["fields"], "credential": answer})
    assert replay.status_code == 302
    browser.get("/account/passkeys")
    assert "That took too long. Try again." in browser.text and Passkey.query.count() == 1


def test_without_webauthn_in_the_browser_the_page_says_so(browser, user):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    browser.get("/account/passkeys")
    browser.submit("/account/passkeys/new", name="My phone", current_password=user.test_password)
    browser.submit("/account/passkeys/register", credential="")
    assert "This browser cannot use passkeys. Try another browser or device." in browser.text
    assert Passkey.query.count() == 0


def test_nobody_renames_or_deletes_another_persons_passkey(app, browser, user):
    passkeys.added(app, user, Authenticator())
    mine = Passkey.query.one()
    other = identities.create("toinen@example.fi", "another long password", "Toinen", verified=True)
    intruder = signed_in(app, other, "another long password")
    intruder.get("/account/passkeys")
    token = intruder.form("/account/passkeys/new")["fields"]["csrf_token"]
    for action, data in (("rename", {"name": "Mine now"}), ("delete", {"current_password": "another long password"})):
        response = intruder.client.post(f"/account/passkeys/{mine.id}/{action}", data={"csrf_token": token, **data})
        assert response.status_code == 404
    assert Passkey.query.one().name == "My phone"


def test_passkey_pages_need_a_signed_in_person(browser):
    browser.get("/account/passkeys", follow=False)
    assert browser.page.status_code == 302 and "/login" in browser.page.headers["Location"]
