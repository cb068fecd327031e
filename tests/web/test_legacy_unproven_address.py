"""Old accounts merged by an address nobody has proven yet: old systems never checked
addresses (typos, a family sharing one), so each old password keeps opening until the
address is proven in the login that typed one; only then does it become the password."""
import json

import bcrypt
import pytest

from idp.extensions import db
from idp.models import Identity, LegacyAccount
from idp.services import legacy_import
from tests.support.browser import Browser
from tests.support.journeys import sign_in

CHECK_MAIL = "We sent a 6-digit code to"
ADDRESS = "maija.meikalainen@example.fi"
LIBRARY_PASSWORD = "Kesäloma2019"
POOL_PASSWORD = "Uimahalli#2020"


def _row(legacy_id, login_name, email, password):
    return json.dumps({"legacy_id": legacy_id, "login_name": login_name, "email": email, "hash_scheme": "bcrypt",
                       "password_hash": bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()})


@pytest.fixture
def shared(app, tmp_path):
    """maija.m in kirjasto and maija in uimahalli: one address in two spellings, two passwords."""
    for system, row in (("kirjasto", _row("10001", "maija.m", "Maija.Meikalainen@Example.FI", LIBRARY_PASSWORD)),
                        ("uimahalli", _row("501", "maija", ADDRESS, POOL_PASSWORD))):
        (tmp_path / f"{system}.jsonl").write_text(row)
        legacy_import.run(str(tmp_path / f"{system}.jsonl"), system)
    identity = Identity.by_email(ADDRESS)
    assert not identity.email_verified and identity.password_hash is None
    return identity


def _state(identity_id):
    db.session.expire_all()
    identity = db.session.get(Identity, identity_id)
    retired = [a.password_retired_at for a in db.session.execute(
        db.select(LegacyAccount).where(LegacyAccount.identity_id == identity_id)).scalars()]
    return identity, retired


def _signs_in_up_to_the_mail(app, login_name, password):
    """A new browser signing in with an old name and password: where does it get to?"""
    browser = Browser(app)
    browser.get("/login")
    sign_in(browser, login_name, password)
    return browser


def test_stopping_at_check_your_email_changes_no_ones_old_password(app, shared):
    pool = _signs_in_up_to_the_mail(app, "maija", POOL_PASSWORD)
    assert CHECK_MAIL in pool.text

    identity, retired = _state(shared.id)
    assert identity.password_hash is None and not identity.email_verified
    assert retired == [None, None]
    # The other old account's owner still gets as far with their own old password...
    library = _signs_in_up_to_the_mail(app, "maija.m", LIBRARY_PASSWORD)
    assert CHECK_MAIL in library.text
    # ...and the first one too, again.
    assert CHECK_MAIL in _signs_in_up_to_the_mail(app, "maija", POOL_PASSWORD).text


def test_proving_the_address_in_the_same_login_makes_its_old_password_the_one(app, shared, mailbox):
    _signs_in_up_to_the_mail(app, "maija", POOL_PASSWORD)  # someone else stops at the mail
    # The mail speaks of a sign-in: nobody created a Tunnus account here.
    text = mailbox.text(mailbox.last("Maija.Meikalainen@Example.FI"))
    assert "If you did not just sign in to Tunnus, ignore this message" in text and "create" not in text
    library = _signs_in_up_to_the_mail(app, "maija.m", LIBRARY_PASSWORD)
    library.submit("/verify", code=mailbox.code("Maija.Meikalainen@Example.FI"))
    assert "Your account" in library.text

    identity, retired = _state(shared.id)
    assert identity.email_verified and identity.password_hash.startswith("$argon2id$")
    assert all(retired)
    assert "Your account" in _signs_in_up_to_the_mail(app, "maija.m", LIBRARY_PASSWORD).text
    refused = _signs_in_up_to_the_mail(app, "maija", POOL_PASSWORD)
    assert "The email address or password is incorrect" in refused.text and "Your account" not in refused.text


def test_a_link_opened_in_another_browser_proves_the_address_but_adopts_no_password(app, shared, mailbox):
    _signs_in_up_to_the_mail(app, "maija", POOL_PASSWORD)
    phone = Browser(app)
    phone.get(mailbox.link("Maija.Meikalainen@Example.FI", "/verify/"))
    phone.submit("/verify/")
    assert "Your email address is verified" in phone.text

    identity, retired = _state(shared.id)
    assert identity.email_verified and identity.password_hash is None and retired == [None, None]
    # The address is proven now: the next old password used becomes the one, as always.
    assert "Your account" in _signs_in_up_to_the_mail(app, "maija.m", LIBRARY_PASSWORD).text
    identity, retired = _state(shared.id)
    assert identity.password_hash.startswith("$argon2id$") and all(retired)
