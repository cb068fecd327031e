"""Logging in with old credentials: old user names and old password hashes keep working
until the person moves over; then only the new ones do."""
import hashlib
import json
import re
import time

import bcrypt
import pytest
from passlib.hash import md5_crypt

from idp.errors import InvalidCredentials
from idp.extensions import db
from idp.models import Campaign, Identity, LegacyAccount
from idp.services import clock, identities, legacy_hashes, legacy_import, legacy_login
from idp.services.audit import SYSTEM
from tests.support.browser import Browser
from tests.support.journeys import sign_in

MESSAGE = "The email address or password is incorrect, or the account is locked."


def _hash(password):
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


def _import(tmp_path, system, rows):
    path = tmp_path / f"{system}.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows))
    report = legacy_import.run(str(path), system)
    db.session.expire_all()
    return report


@pytest.fixture
def library(app, tmp_path):
    _import(tmp_path, "kirjasto", [
        {"legacy_id": "1", "login_name": "maija.m", "email": "Maija.Meikalainen@Example.FI", "name": "Maija",
         "password_hash": _hash("Kesäloma2019"), "hash_scheme": "bcrypt"},
        {"legacy_id": "2", "login_name": "AS-40012", "name": "Asiakas ilman sähköpostia",
         "password_hash": _hash("Pulla&Kahvi"), "hash_scheme": "bcrypt"},
    ])
    maija = Identity.by_email("maija.meikalainen@example.fi")
    maija.email_verified = True  # verified earlier; verification on login is tested elsewhere
    db.session.commit()
    return maija


def _fastest_refusal(attempt, times: int) -> float:
    """Seconds the quickest of `times` refused attempts took (the least disturbed)."""
    best = float("inf")
    for _ in range(times):
        started = time.perf_counter()
        with pytest.raises(InvalidCredentials):
            attempt()
        best = min(best, time.perf_counter() - started)
    return best


def test_an_old_user_name_is_offered_and_taken_only_where_old_accounts_were_imported(app, browser, tmp_path):
    hint = "Used a user name in an old service? You can type it here"
    browser.get("/login")
    assert hint not in browser.text  # nothing imported: a name without "@" is a mistyped address
    browser.submit("/identify", email="maija.meikalainen")
    assert browser.page.status_code == 400 and "Enter a valid email address" in browser.text
    _import(tmp_path, "kirjasto", [{"legacy_id": "1", "login_name": "maija.m", "email": "maija@example.fi",
                                    "password_hash": _hash("Kesäloma2019"), "hash_scheme": "bcrypt"}])
    browser.get("/login")
    assert hint in browser.text and 'aria-describedby="email-hint"' in browser.text
    browser.submit("/identify", email="maija.meikalainen")  # unknown names go on as known ones do
    assert browser.page.status_code == 200 and 'name="password"' in browser.text


def test_an_old_user_name_with_an_at_sign_that_is_no_address_signs_in(app, browser, tmp_path):
    """Before, "matti@kirjasto" was answered "Enter a valid email address": an account
    without an email had no way in at all."""
    _import(tmp_path, "kirjasto", [{"legacy_id": "1", "login_name": "matti@kirjasto", "password_hash": _hash("Sauna#1"),
                                    "hash_scheme": "bcrypt"}])
    browser.get("/login")
    browser.submit("/identify", email="matti@kirjasto")
    assert browser.page.status_code == 200 and 'name="password"' in browser.text
    browser.submit("/password", password="Sauna#1")
    assert "Add your email address" in browser.text
    browser.get("/login")
    browser.submit("/identify", email="pekka@kirjasto")  # no such name: still a mistyped address
    assert browser.page.status_code == 400 and "Enter a valid email address" in browser.text


def test_the_reset_page_asks_for_an_old_user_name_only_where_old_accounts_were_imported(browser, tmp_path):
    browser.get("/recovery")
    assert "Email address or user name" not in browser.text and "Enter your email address. We will" in browser.text
    _import(tmp_path, "kirjasto", [{"legacy_id": "1", "login_name": "maija.m", "email": "maija@example.fi",
                                    "password_hash": _hash("Kesäloma2019"), "hash_scheme": "bcrypt"}])
    browser.get("/recovery")
    assert "Email address or user name" in browser.text and "or the user name you used before" in browser.text
    assert 'autocomplete="username"' in browser.text


def test_old_user_name_shows_the_masked_email_and_the_old_password_opens(browser, library):
    browser.get("/login")
    browser.submit("/identify", email="MAIJA.M")
    assert "From now on you sign in with your email address M•••@E•••.FI" in browser.text
    browser.submit("/password", password="Kesäloma2019")
    assert "Your account" in browser.text


@pytest.mark.parametrize("costly", ["pbkdf2_sha256$2147483648$suola$" + "A" * 43 + "=", "$2b$31$" + "a" * 53])
def test_a_hash_asking_for_more_work_than_a_login_may_spend_opens_nothing_at_once(app, browser, library, costly):
    """As imported before the import refused it. Before, PBKDF2 at 2^31 iterations was a
    500 at every login of its person (hashlib refuses it), and bcrypt 31 held a worker for
    days at each guess."""
    account = LegacyAccount.query.filter_by(login_name="maija.m").one()
    account.password_hash, account.hash_scheme = costly, legacy_hashes.detect_scheme(costly)
    db.session.commit()
    for typed in ("maija.m", "maija.meikalainen@example.fi"):
        browser.get("/login")
        browser.submit("/identify", email=typed)
        browser.submit("/password", password="Kesäloma2019")
        assert browser.page.status_code == 401 and MESSAGE in browser.text


def test_old_password_becomes_argon2_and_the_old_hash_stops_opening(app, browser, library):
    browser.get("/login")
    sign_in(browser, "maija.meikalainen@example.fi", "Kesäloma2019")
    assert "Your account" in browser.text
    db.session.expire_all()
    maija = db.session.get(Identity, library.id)
    assert maija.password_hash.startswith("$argon2id$")
    assert db.session.execute(db.select(LegacyAccount.password_retired_at).filter_by(legacy_id="1")).scalar()

    identities.set_password(maija, "uusi oikein pitkä salasana", origin=SYSTEM, reason="changed")
    db.session.commit()
    other = Browser(app)
    other.get("/login")
    sign_in(other, "maija.m", "Kesäloma2019")
    assert MESSAGE in other.text  # the old password no longer opens anything


def test_unknown_user_name_gets_the_same_steps_and_message(browser, library):
    browser.get("/login")
    browser.submit("/identify", email="ei.ketaan")
    assert "From now on you sign in with your email address." in browser.text
    browser.submit("/password", password="mitä tahansa")
    assert browser.page.status_code == 401 and MESSAGE in browser.text


def test_same_user_name_in_two_systems_the_password_decides(app, browser, tmp_path, library):
    _import(tmp_path, "pesula", [{"legacy_id": "77", "login_name": "maija.m", "email": "maija.toinen@example.fi",
                                  "password_hash": _hash("Pesupäivä1"), "hash_scheme": "bcrypt"}])
    other = Identity.by_email("maija.toinen@example.fi")
    other.email_verified = True
    db.session.commit()
    browser.get("/login")
    browser.submit("/identify", email="maija.m")
    assert "From now on you sign in with your email address." in browser.text  # two people: no hint
    browser.submit("/password", password="Pesupäivä1")
    assert "maija.toinen@example.fi" in browser.text and "Your account" in browser.text


def test_one_person_signing_in_with_a_shared_user_name_never_locks_out_the_other(app, tmp_path, library):
    _import(tmp_path, "pesula", [{"legacy_id": "77", "login_name": "maija.m", "email": "maija.toinen@example.fi",
                                  "password_hash": _hash("Pesupäivä1"), "hash_scheme": "bcrypt"}])
    other = Identity.by_email("maija.toinen@example.fi")
    other.email_verified = True
    db.session.commit()
    for _ in range(app.config["IDP_LOGIN_DELAY_AFTER"] + 1):
        assert legacy_login.authenticate("maija.m", "Pesupäivä1", origin=SYSTEM).id == other.id
    assert identities.authenticate("maija.meikalainen@example.fi", "Kesäloma2019", origin=SYSTEM).id == library.id

    with pytest.raises(InvalidCredentials):  # opens neither: a guess at each of them
        legacy_login.authenticate("maija.m", "Talvisota1939", origin=SYSTEM)
    db.session.expire_all()
    assert [db.session.get(Identity, i.id).failed_logins for i in (library, other)] == [1, 1]


def test_the_time_of_the_answer_does_not_tell_which_old_user_names_exist(app, tmp_path):
    """A name nobody has costs a dummy bcrypt; names whose account has no usable hash, or
    a quick one, merged or not, must cost as much (loosely: a slow machine only makes this
    noisier)."""
    salted = "sha1$s4lt$" + hashlib.sha1("s4ltKesäloma2019".encode()).hexdigest()
    _import(tmp_path, "verkkokauppa", [
        {"legacy_id": "1", "login_name": "ilman.salasanaa"},
        {"legacy_id": "2", "login_name": "vanha.sha1", "password_hash": salted, "hash_scheme": "salted_sha1"},
        {"legacy_id": "3", "login_name": "vanha.md5", "password_hash": md5_crypt.hash("Kesäloma2019"),
         "hash_scheme": "md5_crypt"},
        {"legacy_id": "4", "login_name": "yhdistetty.sha1", "email": "yhdistetty@example.fi", "password_hash": salted,
         "hash_scheme": "salted_sha1"},
    ])

    def cost(login_name):
        return _fastest_refusal(lambda: legacy_login.authenticate(login_name, "Talvisota1939", origin=SYSTEM), 5)

    unknown = cost("ei.ketaan")
    for login_name in ("ilman.salasanaa", "vanha.sha1", "vanha.md5", "yhdistetty.sha1"):
        assert cost(login_name) >= unknown / 3, login_name


def test_the_time_of_an_email_login_does_not_tell_which_addresses_wait_with_an_old_hash(app, tmp_path):
    """An unknown address costs an argon2 check; an address whose identity has only a quick
    old hash must cost as much. argon2 is made dear here so the gap cannot hide in noise."""
    salted = "sha1$s4lt$" + hashlib.sha1("s4ltKesäloma2019".encode()).hexdigest()
    _import(tmp_path, "verkkokauppa", [{"legacy_id": "1", "login_name": "vanha.sha1", "email": "vanha@example.fi",
                                         "password_hash": salted, "hash_scheme": "salted_sha1"}])
    app.config.update(IDP_ARGON2_MEMORY_KIB=65536, IDP_LOGIN_DELAY_AFTER=100)
    app.extensions.pop("idp.argon2", None)
    app.extensions.pop("idp.argon2.dummy", None)

    def cost(email):
        return _fastest_refusal(lambda: identities.authenticate(email, "Talvisota1939", origin=SYSTEM), 3)

    assert cost("vanha@example.fi") >= cost("ei.ketaan@example.fi") / 2


def test_account_without_email_must_add_and_verify_one(browser, library, mailbox):
    browser.get("/login")
    sign_in(browser, "AS-40012", "Pulla&Kahvi")
    assert "Add your email address" in browser.text
    browser.submit("/login/add-email/", email="asiakas@example.fi")
    # Subjects show on lock screens and in notifications: the code is in the text only.
    assert mailbox.last("asiakas@example.fi")["Subject"] == "Your Tunnus code"
    browser.submit("/code", code="000000" if mailbox.code("asiakas@example.fi") != "000000" else "111111")
    assert "The code is wrong. 4 tries left." in browser.text
    browser.submit("/code", code=mailbox.code("asiakas@example.fi"))
    assert "Your account" in browser.text and "asiakas@example.fi" in browser.text
    identity = Identity.by_email("asiakas@example.fi")
    assert identity.email_verified and identity.password_hash.startswith("$argon2id$")
    assert db.session.execute(db.select(LegacyAccount.identity_id).filter_by(legacy_id="2")).scalar() == identity.id


def test_the_address_added_to_an_account_stays_its_own_when_a_newer_export_is_imported(
        app, browser, library, mailbox, tmp_path):
    """The old system was used meanwhile: its newer export has a later last login. Before,
    any change linked the row again by its address (none): the account lost its person."""
    browser.get("/login")
    sign_in(browser, "AS-40012", "Pulla&Kahvi")
    browser.submit("/login/add-email/", email="asiakas@example.fi")
    browser.submit("/code", code=mailbox.code("asiakas@example.fi"))
    identity = Identity.by_email("asiakas@example.fi")
    _import(tmp_path, "kirjasto", [
        {"legacy_id": "2", "login_name": "AS-40012", "name": "Asiakas ilman sähköpostia",
         "password_hash": _hash("Pulla&Kahvi"), "hash_scheme": "bcrypt", "last_login_at": "2026-11-01T10:00:00"}])
    assert db.session.execute(db.select(LegacyAccount.identity_id).filter_by(legacy_id="2")).scalar() == identity.id


def test_after_cutover_old_credentials_are_refused_with_a_way_forward(browser, library):
    db.session.add(Campaign(name="Siirto", target="legacy-system:kirjasto", requirements=["change_password"],
                            status="running", started_at=clock.now(), cutover_at=clock.now()))
    db.session.commit()
    browser.get("/login")
    browser.submit("/identify", email="maija.m")
    browser.submit("/password", password="Kesäloma2019")
    assert "Old user names and passwords no longer work. Reset your password by email to sign in." in browser.text
    assert 'aria-describedby="password-error"' in browser.text and 'id="password-error"' in browser.text
    assert re.search(r'href="/recovery\?flow=[\w-]+">Reset your password by email<', browser.text)
    assert db.session.execute(db.select(db.func.count(LegacyAccount.id))).scalar() == 2  # nothing deleted


def forgot_password_after(browser, login_name):
    """Type the old user name on the login page, then follow "Forgot your password?"."""
    browser.get("/login")
    browser.submit("/identify", email=login_name)
    browser.get(re.search(r'href="([^"]+)">Forgot your password\?', browser.text).group(1))
    assert f'value="{login_name}"' in browser.text
    return browser.submit("/recovery")


def test_forgot_password_after_an_old_user_name_mails_the_accounts_address(app, browser, library, mailbox):
    forgot_password_after(browser, "maija.m")
    assert browser.page.status_code == 200 and "we sent a code to the account's email address" in browser.text
    [reset] = mailbox.to("maija.meikalainen@example.fi")
    browser.submit("/recovery/", code=mailbox.code("maija.meikalainen@example.fi"))
    # A password manager saves the new password under the address, not the name that stops working.
    assert re.search(r'name="username" value="Maija.Meikalainen@Example.FI" autocomplete="username"', browser.text)
    browser.submit("/password", password="uusi pitkä salasana", confirm="uusi pitkä salasana")
    assert "Your account" in browser.text and "Maija.Meikalainen@Example.FI" in browser.text


def test_a_reset_refuses_the_old_systems_password_as_the_new_one(app, browser, library, mailbox):
    """It still opens the account, and may have leaked with the old system: before, only the
    account's own password was compared, and an imported person has none yet."""
    forgot_password_after(browser, "maija.m")
    browser.submit("/recovery/", code=mailbox.code("maija.meikalainen@example.fi"))
    browser.submit("/password", password="Kesäloma2019", confirm="Kesäloma2019")
    assert browser.page.status_code == 400 and "Choose a password different from your current one." in browser.text
    assert db.session.get(Identity, library.id).password_hash is None

def test_a_reset_by_an_unknown_unmerged_or_shared_user_name_looks_the_same_and_mails_nobody(
        app, tmp_path, library, mailbox):
    def page(login_name):
        browser = Browser(app)
        forgot_password_after(browser, login_name)
        assert browser.page.status_code == 200
        text = re.sub(r'name="(csrf_token|flow)" value="[^"]*"', "", browser.text.replace(login_name, "NAME"))
        return re.sub(r"/recovery/[\w-]+", "/recovery/ID", text)

    known = page("maija.m")
    assert len(mailbox.messages) == 1
    _import(tmp_path, "pesula", [{"legacy_id": "77", "login_name": "maija.m", "email": "maija.toinen@example.fi",
                                  "password_hash": _hash("Pesupäivä1"), "hash_scheme": "bcrypt"}])
    for login_name in ("ei.ketaan", "AS-40012", "maija.m"):  # unknown, never merged, two people
        assert page(login_name) == known
    assert len(mailbox.messages) == 1


def test_rows_naming_an_organisation_create_or_join_it_keeping_the_first_admin(app, tmp_path):
    from idp.models import Membership, Organisation
    from idp.services import organisations

    rows = [
        {"legacy_id": "1", "login_name": "pomo", "email": "pomo@siivous.fi", "password_hash": _hash("x" * 12),
         "hash_scheme": "bcrypt", "org_business_id": "0737546-2", "org_role": "admin"},
        {"legacy_id": "2", "login_name": "duunari", "email": "duunari@siivous.fi", "password_hash": _hash("y" * 12),
         "hash_scheme": "bcrypt", "org_business_id": "737546-2", "org_role": "member"},
    ]
    report = _import(tmp_path, "extranet", rows)
    assert report.memberships_created == 2
    org = db.session.execute(db.select(Organisation)).scalar_one()
    assert org.business_id == "0737546-2"
    assert [i.email for i in organisations.admins(org)] == ["pomo@siivous.fi"]

    rows[1]["org_role"] = "admin"  # a later file cannot take over: the first admin stays
    rows[0]["org_role"] = "member"
    again = _import(tmp_path, "extranet", rows)
    assert again.memberships_created == 0
    roles = dict(db.session.execute(db.select(Membership.identity_id, Membership.role)).all())
    assert sorted(roles.values()) == ["admin", "member"]
    assert [i.email for i in organisations.admins(org)] == ["pomo@siivous.fi"]


def test_adding_an_address_someone_else_registered_takes_it_from_them(app, browser, library, mailbox):
    """A stranger registered the address (never proven) with a password of their own; the
    old account's owner proves it: the account is theirs, opened by their old password."""
    squatted = identities.create("omistaja@example.fi", "hyökkääjän oma salasana", "X", verified=False)
    browser.get("/login")
    sign_in(browser, "AS-40012", "Pulla&Kahvi")
    browser.submit("/login/add-email/", email="omistaja@example.fi")
    browser.submit("/code", code=mailbox.code("omistaja@example.fi"))
    assert "Your account" in browser.text

    stranger = Browser(app)
    stranger.get("/login")
    sign_in(stranger, "omistaja@example.fi", "hyökkääjän oma salasana")
    assert "Your account" not in stranger.text and MESSAGE in stranger.text
    owner = Browser(app)
    owner.get("/login")
    sign_in(owner, "omistaja@example.fi", "Pulla&Kahvi")
    assert "Your account" in owner.text
    assert db.session.execute(db.select(LegacyAccount.identity_id).filter_by(legacy_id="2")).scalar() == squatted.id
