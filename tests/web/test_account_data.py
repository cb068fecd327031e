"""Downloading one's data from the account page (GDPR Art. 15 and 20), and an operator's
copy for a request made by post: all Tunnus holds about the person, nothing that opens
the account."""
import getpass
import json
import os
import re

import pytest

from idp.extensions import db
from idp.methods import pin
from idp.models import (AuditEvent, Identity, KioskPin, LegacyAccount, LoginSession, Passkey, RecoveryCode, Token,
                        TotpCredential)
from idp.services import identities, organisations, personal_data
from idp.services.audit import SYSTEM
from tests.campaigns.helpers import started
from tests.support import passkeys
from tests.support.browser import Browser
from tests.support.journeys import sign_in, signed_in, tokens_for
from tests.support.kiosk import PIN, building
from tests.support.legacy import OLD_PASSWORD, imported
from tests.support.orgs import organisation, person
from tests.support.races import at_once, meet_after, post, row_locks
from tests.support.rp import RelyingParty
from tests.support.totp import enrol
from tests.support.webauthn_authenticator import Authenticator

DOWNLOAD = re.compile(r'attachment; filename="tunnus-data-\d{4}-\d{2}-\d{2}\.json"')


def _download(browser, password):
    browser.get("/account")
    return browser.submit("/account/data", current_password=password)


def _exports():
    return AuditEvent.query.filter_by(event="identity.data_exported").order_by(AuditEvent.id).all()


def _maija_with_everything(app, tmp_path, rp):
    """An old library account merged at sign-in, with every kind of thing one can have."""
    maija = imported(tmp_path, "kirjasto", "maija.m", "maija@example.fi", "Maija Meikäläinen", verified=True)
    maija.test_password = OLD_PASSWORD
    browser = Browser(app)
    browser.get("/login")
    sign_in(browser, "maija.m", OLD_PASSWORD)  # moves the old password over
    house = building()
    repairs = RelyingParty.register(app, name="Vikailmoitukset")
    repairs.client.org_mode = "business"  # used acting for the housing company
    organisations.grant(house, organisations.add_member(house, maija.email), repairs.client)
    db.session.commit()
    pin.set_pin(maija, OLD_PASSWORD, PIN, PIN, origin=SYSTEM)
    tokens = tokens_for(browser, rp, maija, scope="openid profile email offline_access")
    secret, codes = enrol(browser, maija)
    passkeys.add(browser, maija, Authenticator(), "Oma puhelin")
    started(app.test_cli_runner(), "legacy-system:kirjasto", name="Kirjaston siirto")
    return browser, maija, secret, codes, tokens


def _secrets_of(identity, secret, codes, tokens) -> list[str]:
    """Every stored or handed-out value that would open the account or a session."""
    db.session.expire_all()
    found = [secret, *codes, tokens["access_token"], tokens["refresh_token"], tokens["id_token"],
             db.session.get(Identity, identity.id).password_hash]
    for model, columns in ((LegacyAccount, ("password_hash", "row_digest")), (TotpCredential, ("secret_encrypted",)),
                           (RecoveryCode, ("code_hash",)), (Passkey, ("credential_id", "public_key")),
                           (KioskPin, ("pin_hash",)), (LoginSession, ("sid",)),
                           (Token, ("access_token_hash", "refresh_token_hash", "family"))):
        for row in model.query.filter_by(identity_id=identity.id):
            found += [getattr(row, column) for column in columns]
    return [value for value in found if value]


def test_the_download_holds_what_tunnus_holds_about_the_person_and_no_secret(app, tmp_path, rp):
    browser, maija, secret, codes, tokens = _maija_with_everything(app, tmp_path, rp)
    browser.get("/account")
    # Invited while the account page is open: opening a page again would accept it.
    organisations.invite(organisation("Siivous Oy", "1572860-0", person("pomo@siivous.fi")), maija.email)
    db.session.commit()
    response = browser.submit("/account/data", current_password=OLD_PASSWORD)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert DOWNLOAD.fullmatch(response.headers["Content-Disposition"])
    assert response.headers["Cache-Control"] == "no-store"
    text = response.get_data(as_text=True)
    data = json.loads(text)

    assert data["format"] == 1
    assert data["profile"]["email"] == "maija@example.fi" and data["profile"]["name"] == "Maija Meikäläinen"
    assert data["profile"]["email_verified"] is True and data["profile"]["sub"] == maija.sub
    [house] = data["organisations"]
    assert (house["name"], house["role"]) == ("As Oy Koivukuja", "member")
    assert [right["service"] for right in house["service_rights"]] == ["Vikailmoitukset"]
    assert [invitation["organisation"] for invitation in data["invitations"]] == ["Siivous Oy"]
    [this_browser] = data["sessions"]
    assert this_browser["ip"] == "127.0.0.1" and this_browser["ended_at"] is None
    assert [(allowed["service"], set(allowed["scope"].split())) for allowed in data["services_allowed"]] == [
        ("Kirjasto", {"openid", "profile", "email", "offline_access"})]
    [old] = data["old_accounts"]
    assert (old["system"], old["user_name"], old["id_in_system"]) == ("kirjasto", "maija.m", "1")
    factors = data["second_factors"]
    assert factors["authenticator_app"]["confirmed_at"] and factors["recovery_codes"] == {"issued": 10, "left": 10}
    assert [key["name"] for key in factors["passkeys"]] == ["Oma puhelin"]
    assert data["kiosk_pin"]["set"] is True
    assert [joined["campaign"] for joined in data["campaigns"]] == ["Kirjaston siirto"]
    events = {entry["event"] for entry in data["audit_events"]}
    assert {"login.password", "pin.set", "totp.enrolled", "passkey.added", "consent.granted"} <= events, events
    [consented] = [entry for entry in data["audit_events"] if entry["event"] == "consent.granted"]
    assert (consented["service"], consented["client_id"], consented["ip"]) == ("Kirjasto", rp.client_id, "127.0.0.1")
    assert {"at", "event", "result", "ip", "service", "client_id"} == set(consented)

    leaked = [value for value in _secrets_of(maija, secret, codes, tokens) if value in text]
    assert leaked == []
    assert not re.search(r"\$argon2|\$2[aby]\$", text)


def test_claims_allowed_by_name_are_in_the_download(app, browser, rp, user):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    tokens_for(browser, rp, user, scope="openid", claims=json.dumps({"userinfo": {"email": None}}))
    data = json.loads(_download(browser, user.test_password).get_data(as_text=True))
    assert [(allowed["scope"], allowed["claims"]) for allowed in data["services_allowed"]] == [("openid", ["email"])]


def test_a_wrong_password_downloads_nothing_and_is_said_in_the_pages_language(app, user):
    browser = signed_in(app, user)
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fi"
    response = _download(browser, "not my password")
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "Content-Disposition" not in response.headers
    assert 'id="data_current_password-error"' in browser.text
    assert "Nykyinen salasanasi on väärin." in browser.text and ">Lataa tietosi</button>" in browser.text
    [refused] = _exports()
    assert (refused.result, refused.details["reason"]) == ("failure", "wrong_password")


def test_the_download_is_audited_as_the_persons_own(app, user):
    browser = signed_in(app, user)
    browser.client.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    _download(browser, user.test_password)
    [exported] = _exports()
    assert (exported.identity_id, exported.result, exported.ip) == (user.id, "success", "192.0.2.7")
    assert exported.details == {"via": "account_page"}
    again = json.loads(_download(browser, user.test_password).get_data(as_text=True))
    assert {"event": "identity.data_exported", "result": "success", "ip": "192.0.2.7", "service": None,
            "client_id": None} == {k: v for k, v in again["audit_events"][-1].items() if k != "at"}


def test_an_account_without_a_password_sets_one_first(app, user):
    """As for deleting it: a session alone, perhaps a stolen one, is not enough."""
    browser = signed_in(app, user)
    user.password_hash = None  # as an account made by identifying with a bank
    db.session.commit()
    response = _download(browser, "")
    assert response.status_code == 400 and "Content-Disposition" not in response.headers
    assert "Your account has no password yet, and this change needs one." in browser.text
    assert "current_password" not in browser.form("/account/data")["fields"]
    [refused] = _exports()
    assert (refused.result, refused.details["reason"]) == ("failure", "no_password")


def test_a_download_without_the_forms_csrf_token_is_refused(app, user):
    browser = signed_in(app, user)
    response = browser.client.post("/account/data", data={"current_password": user.test_password})
    assert response.status_code == 400 and "Content-Disposition" not in response.headers
    assert _exports() == []


def test_password_guesses_at_the_download_are_limited(app, user):
    browser = signed_in(app, user)
    app.config["IDP_LOGIN_ACCOUNT_RATE_LIMIT"] = "2 per minute"
    assert [_download(browser, "guess").status_code for _ in range(3)] == [400, 400, 429]
    assert _download(browser, user.test_password).status_code == 429


def test_the_download_asks_to_sign_in_first(app, browser):
    browser.get("/login")
    token = browser.form("/identify")["fields"]["csrf_token"]
    response = browser.client.post("/account/data", data={"csrf_token": token, "current_password": "x"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_an_operator_prints_the_same_document_for_a_request_by_post(app, runner, user, tmp_path):
    result = runner.invoke(args=["users", "export", "--email", user.email, "--reason", "kirje 2024-117", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["format"] == 1 and data["profile"]["email"] == user.email
    assert user.password_hash not in result.output
    written = tmp_path / "maija.json"
    written.write_text("an older export")
    written.chmod(0o644)
    runner.invoke(args=["users", "export", "--email", user.email, "--output", str(written)])
    assert json.loads(written.read_text(encoding="utf-8"))["profile"]["name"] == "Maija Meikäläinen"
    assert written.stat().st_mode & 0o777 == 0o600  # personal data: its owner's alone
    operator = f"tunnus-cli (user {os.environ.get('SUDO_USER') or getpass.getuser()})"  # who ran it
    assert [(event.details, event.user_agent) for event in _exports()] == [
        ({"via": "operator", "reason": "kirje 2024-117"}, operator), ({"via": "operator", "reason": None}, operator)]


def test_an_export_to_a_file_that_cannot_be_written_is_refused_and_not_recorded(app, runner, user, tmp_path):
    result = runner.invoke(args=["users", "export", "--email", user.email, "--output", str(tmp_path / "no" / "x.json")])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "Invalid value for --output: cannot write" in result.output and "No such file or directory" in result.output
    assert _exports() == []


def test_an_export_of_someone_deleted_meanwhile_removes_only_a_file_of_its_own(app, runner, user, tmp_path,
                                                                              monkeypatch):
    """The file it made goes; a link named as --output stays (/dev/stdout is one, to a
    device). Before, the link was removed, /dev/stdout too."""
    from idp.services import account_deletion
    from idp.services.audit import SYSTEM

    real_export = personal_data.export

    def deleted_first(identity, **kwargs):
        account_deletion.delete(identity, origin=SYSTEM, locale="fi", reason="meanwhile")
        return real_export(identity, **kwargs)

    monkeypatch.setattr(personal_data, "export", deleted_first)
    made, target = tmp_path / "maija.json", tmp_path / "target.json"
    target.write_text("")
    (tmp_path / "link.json").symlink_to(target)
    other = identities.create("toinen@example.fi", "purple otter climbs marble stairs", "Toinen", verified=True)
    for email, output in ((user.email, made), (other.email, tmp_path / "link.json")):
        result = runner.invoke(args=["users", "export", "--email", email, "--output", str(output)])
        assert result.exit_code == 1 and "No identity with the email address" in result.output
    assert not made.exists() and (tmp_path / "link.json").is_symlink()


def test_an_operator_is_told_when_nobody_has_the_address(app, runner):
    result = runner.invoke(args=["users", "export", "--email", "nobody@example.fi"])
    assert result.exit_code != 0 and "No identity with the email address nobody@example.fi." in result.output


@row_locks
@pytest.mark.parametrize("by", ["person", "operator"])
def test_a_download_as_the_account_is_deleted_in_another_browser_is_answered_both(app, user, monkeypatch, by):
    """The person (or an operator, for a request made by post) downloads the data just as
    the person deletes the account in another browser. The export reads the person's rows
    and then records itself, naming the person; the deletion holds the person's row and then
    deletes it. Both are answered, not one with an error: the copy was made before, or it
    finds no account (before, the record of a copy of an account gone failed)."""
    email, deleting = user.email, signed_in(app, user)
    deleting.get("/account")
    delete = post(app, deleting, "/account/delete", current_password=user.test_password)
    if by == "person":
        downloading = signed_in(app, user)
        downloading.get("/account")
        download = post(app, downloading, "/account/data", current_password=user.test_password)
    else:
        def download():
            with app.app_context():
                return app.test_cli_runner().invoke(args=["users", "export", "--email", email])
    # The copy is made (not yet recorded), and the deletion holds the person's row, before either goes on.
    meet_after(monkeypatch, (personal_data, "_document"), (organisations, "sole_admin_of"))
    downloaded, deleted = at_once(download, delete)
    monkeypatch.undo()

    assert deleted.status_code == 200 and "Your account was deleted" in deleted.get_data(as_text=True)
    if by == "person":
        assert downloaded.status_code in (200, 302, 410), downloaded.status_code
    else:
        assert downloaded.exception is None or isinstance(downloaded.exception, SystemExit), \
            repr(downloaded.exception)
        assert downloaded.exit_code == 0 or f"No identity with the email address {email}." in downloaded.output
    assert Identity.by_email(email) is None
