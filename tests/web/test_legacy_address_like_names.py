"""Old login names that look like an address: many old systems took a person's earlier
email address as the user name. Typed at login, such a name is an old user name when no
identity has that address; an identity's address comes first."""
import json
import re

import bcrypt
import pytest

from idp.extensions import db
from idp.models import Identity
from idp.services import identities, legacy_import
from tests.support.browser import Browser

MESSAGE = "The email address or password is incorrect, or the account is locked."
OLD_NAME = "name@with.at"


def _import(tmp_path, system, rows):
    path = tmp_path / f"{system}.jsonl"
    path.write_text("\n".join(json.dumps({"hash_scheme": "bcrypt", **row}) for row in rows))
    legacy_import.run(str(path), system)
    db.session.expire_all()


def _hash(password):
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()


@pytest.fixture
def old_name(app, tmp_path):
    _import(tmp_path, "kirjasto", [{"legacy_id": "1", "login_name": OLD_NAME, "email": "Nimi@Nyky.fi",
                                    "password_hash": _hash("Kesäloma2019")}])
    identity = Identity.by_email("nimi@nyky.fi")
    identity.email_verified = True
    db.session.commit()
    return identity


def _password_page(app, typed):
    browser = Browser(app)
    browser.get("/login")
    browser.submit("/identify", email=typed)
    return browser


def test_an_address_like_old_user_name_gets_the_hint_and_its_old_password_opens(app, old_name):
    browser = _password_page(app, "Name@With.at")
    assert "From now on you sign in with your email address N•••@N•••.fi" in browser.text
    browser.submit("/password", password="Kesäloma2019")
    assert "Your account" in browser.text and "Nimi@Nyky.fi" in browser.text


def test_a_wrong_password_at_an_address_like_old_user_name_counts_as_at_any_old_user_name(app, old_name):
    browser = _password_page(app, OLD_NAME)
    browser.submit("/password", password="väärä salasana")
    assert browser.page.status_code == 401 and MESSAGE in browser.text
    db.session.expire_all()
    assert db.session.get(Identity, old_name.id).failed_logins == 1


def test_an_identitys_address_comes_first_and_the_page_tells_no_more_than_that_the_name_is_old(app, tmp_path,
                                                                                                old_name):
    """Someone registered the address that is also another person's old user name: they
    sign in by it as always. The page looks the same as when no identity has the address,
    so it tells nobody whether one has."""
    def page(typed):
        text = re.sub(r'name="csrf_token" value="[^"]*"', "", _password_page(app, typed).text)
        return re.sub(r"(/login/|flow=)[\w-]+", r"\1ID", text)

    only_old_name = page(OLD_NAME)
    owner = identities.create(OLD_NAME, "omistajan oma salasana", "Omistaja", verified=True)
    assert page(OLD_NAME) == only_old_name

    browser = _password_page(app, OLD_NAME)
    browser.submit("/password", password="omistajan oma salasana")
    assert "Your account" in browser.text and owner.email in browser.text
    refused = _password_page(app, OLD_NAME)
    refused.submit("/password", password="Kesäloma2019")  # the old account's person uses their address now
    assert refused.page.status_code == 401


def test_an_address_nobody_has_as_old_user_name_or_email_looks_like_any_address(app, old_name):
    browser = _password_page(app, "ei.ketaan@example.fi")
    assert "From now on you sign in with your email address" not in browser.text
    browser.submit("/password", password="mitä tahansa")
    assert browser.page.status_code == 401 and MESSAGE in browser.text


def test_forgot_password_with_an_address_like_old_user_name_mails_the_accounts_address(app, old_name, mailbox):
    browser = _password_page(app, OLD_NAME)
    browser.get(re.search(r'href="([^"]+)">Forgot your password\?', browser.text).group(1))
    browser.submit("/recovery")
    assert browser.page.status_code == 200
    assert [m["To"] for m in mailbox.messages] == ["Nimi@Nyky.fi"]
