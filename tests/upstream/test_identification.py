"""Identifying with an upstream provider from the login and registration pages, through
the web forms, with the upstream (a second Tunnus) answering over real HTTP: a person new
to Tunnus gets an identity once they prove an email address; a known one is found by the
address the provider vouches for, and from then on by the link."""
from __future__ import annotations

import contextlib
import json
import threading
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import sqlalchemy as sa

from idp.extensions import db
from idp.methods.levels import ACR_STRONG
from idp.methods.upstream import Identified
from idp.models import AuditEvent, Identity, UpstreamLink
from idp.services import clock, identities, personal_data, upstreams
from idp.services.audit import SYSTEM
from tests.support.browser import Browser
from tests.support.journeys import sign_in
from tests.support.legacy import imported
from tests.support.smtp import Mailbox
from tests.support.totp import app_code, enrolled
from tests.support.upstream import claims_of, identify_at_bank


def id_token(rp, browser):
    if "/authorize/consent/" in browser.text:
        browser.submit("/authorize/consent/", button=("decision", "allow"))
    response = rp.redeem(rp.callback_params(browser.url)["code"])
    assert response.status_code == 200, response.get_json()
    return rp.verify_id_token(response.get_json()["id_token"]), response.get_json()["access_token"]


def identified_proving(browser, rp, at_bank: str, address: str, mailbox):
    """From the service's request: identified at the bank as `at_bank`, then `address`
    proven with the mailed code."""
    browser.get(rp.authorize_url())
    browser.submit("/identify/pankki")
    identify_at_bank(browser, at_bank)
    browser.submit("/identify/email/", email=address)
    browser.submit("/code", code=mailbox.code(address))


def events(name):
    return AuditEvent.query.filter_by(event=name).order_by(AuditEvent.id).all()


def test_login_and_registration_pages_offer_each_provider(browser, app):
    browser.get("/login")
    assert "Identify with" not in browser.text  # none configured
    upstreams.add("Pankki", "https://pankki.example", "tunnus", "s3cret")
    browser.get("/login")
    assert "Identify with Pankki" in browser.text and browser.form("/identify/pankki")["fields"]["csrf_token"]
    browser.get("/register")
    assert "Identify with Pankki" in browser.text


def test_new_person_registers_by_identifying_and_proving_an_email(browser, bank, matti, rp, mailbox):
    email, name, bank_sub = matti
    browser.get(rp.authorize_url())
    browser.submit("/identify/pankki")
    identify_at_bank(browser, email)

    assert "/identify/email/" in browser.url
    assert f"You were identified as {name}." in browser.text
    assert browser.form("/identify/email/")["fields"]["email"] == email  # the bank's address, offered
    browser.submit("/identify/email/", email="matti@koti.example")
    assert "We sent a 6-digit code to matti@koti.example" in browser.text
    assert Identity.by_email("matti@koti.example") is None  # nothing exists before the proof
    browser.submit("/code", code="000000" if mailbox.code("matti@koti.example") != "000000" else "111111")
    assert browser.page.status_code == 400 and "The code is wrong. 4 tries left." in browser.text
    browser.submit("/code", code=mailbox.code("matti@koti.example"))

    claims, access_token = id_token(rp, browser)
    assert claims["acr"] == ACR_STRONG and claims["amr"] == ["fed"]
    assert claims["name"] == name and claims["email"] == "matti@koti.example" and claims["email_verified"] is True
    assert rp.userinfo(access_token).get_json()["name"] == name
    identity = Identity.by_email("matti@koti.example")
    assert identity.password_hash is None and identity.email_verified and identity.name == name
    assert identity.verified_name == name and identity.strongly_identified_at is not None
    link = UpstreamLink.query.one()
    assert (link.subject, link.identity_id, link.upstream_id, link.verified_name) == (bank_sub, identity.id, bank.id,
                                                                                      name)
    assert [e.result for e in events("upstream.identified")] == ["success"]
    assert len(events("upstream.linked")) == 1 and len(events("identity.created")) == 1


def test_known_person_is_found_by_the_address_the_provider_vouches_for(browser, bank, upstream_tunnus, user, rp):
    bank_sub = upstream_tunnus.person(user.email, "Maija Meikäläinen")
    browser.get(rp.authorize_url())
    browser.submit("/identify/pankki")
    identify_at_bank(browser, user.email)

    claims, _ = id_token(rp, browser)  # no address asked: the bank vouched for it
    assert claims["sub"] == user.sub and claims["acr"] == ACR_STRONG and claims["amr"] == ["fed"]
    assert UpstreamLink.query.one().subject == bank_sub

    # Later the link alone finds the person, whatever address the bank then gives.
    upstream_tunnus.tampering.rewrite = lambda token: upstream_tunnus.sign(
        {**claims_of(token), "email": "maija@uusi.example", "email_verified": True})
    browser.get(rp.authorize_url(prompt="login"))
    browser.submit("/identify/pankki")
    identify_at_bank(browser, user.email)
    assert id_token(rp, browser)[0]["sub"] == user.sub
    assert UpstreamLink.query.count() == 1 and len(events("upstream.linked")) == 1


def test_address_the_provider_does_not_vouch_for_must_be_proven(browser, bank, upstream_tunnus, user, rp, mailbox):
    upstream_tunnus.person(user.email, "Maija Meikäläinen")
    upstream_tunnus.tampering.rewrite = lambda token: upstream_tunnus.sign(
        {**claims_of(token), "email_verified": False})
    browser.get(rp.authorize_url())
    browser.submit("/identify/pankki")
    identify_at_bank(browser, user.email)
    assert "/identify/email/" in browser.url  # not linked on the bank's word alone

    browser.submit("/identify/email/", email=user.email)
    browser.submit("/code", code=mailbox.code(user.email))
    claims, _ = id_token(rp, browser)
    assert claims["sub"] == user.sub and claims["acr"] == ACR_STRONG
    assert Identity.query.count() == 1 and UpstreamLink.query.one().identity_id == user.id


def test_the_owner_is_told_in_their_language_when_the_mailed_code_links_a_bank_identity(
        app, browser, bank, upstream_tunnus, user, mailbox):
    """Whoever read the owner's mail once links their own bank ID with the mailed code: the
    owner hears of the new way into the account, in their language, at once."""
    user.locale = "sv"
    db.session.commit()
    upstream_tunnus.person("mallory@example.fi", "Mallory Malicious")
    browser.get("/login")
    browser.submit("/identify/pankki")
    identify_at_bank(browser, "mallory@example.fi")
    browser.submit("/identify/email/", email=user.email)
    browser.submit("/code", code=mailbox.code(user.email))
    assert UpstreamLink.query.one().identity_id == user.id

    notice = mailbox.last(user.email)  # no sender loop ran
    assert notice["Subject"] == "En bankidentifiering kopplades till ditt Tunnus-konto"
    assert "Pankki" in Mailbox.text(notice) and "Mallory Malicious" in Mailbox.text(notice)
    assert "http://localhost/account#identification" in Mailbox.text(notice)


def test_after_the_owner_proves_a_shared_address_another_persons_old_password_opens_nothing(
        app, browser, bank, matti, rp, mailbox, tmp_path):
    """Two old accounts merged by a family's shared address. Before, after its owner proved
    the address with the bank and a mailed code, the sister's old password still opened
    the proven, strongly identified account, and became its password."""
    imported(tmp_path, "kirjasto", "matti.k", "matti@koti.example", password="Matin vanha 1")
    imported(tmp_path, "pesula", "sisko", "matti@koti.example", password="Siskon vanha 2")
    email, _, _ = matti
    identified_proving(browser, rp, email, "matti@koti.example", mailbox)
    assert Identity.by_email("matti@koti.example").email_verified

    for password in ("Siskon vanha 2", "Matin vanha 1"):
        sister = Browser(app)
        sister.get("/login")
        sign_in(sister, "matti@koti.example", password)
        assert sister.page.status_code == 401 and "Your account" not in sister.text


def test_a_second_factor_is_still_asked_after_identifying(app, browser, bank, upstream_tunnus, user, rp):
    secret, _ = enrolled(app, user)
    upstream_tunnus.person(user.email, "Maija Meikäläinen")
    browser.get(rp.authorize_url())
    browser.submit("/identify/pankki")
    identify_at_bank(browser, user.email)
    assert "/totp" in browser.url
    browser.submit("/totp", code=app_code(secret))
    claims, _ = id_token(rp, browser)
    assert claims["amr"] == ["fed", "otp"] and claims["acr"] == ACR_STRONG


def test_someone_with_only_the_mailbox_links_no_bank_identity_to_an_account_with_a_second_factor(
        app, browser, bank, upstream_tunnus, user, rp, mailbox):
    secret, _ = enrolled(app, user)
    upstream_tunnus.person("mallory@example.fi", "Mallory Malicious")
    browser.get(rp.authorize_url())
    browser.submit("/identify/pankki")
    identify_at_bank(browser, "mallory@example.fi")  # someone else's bank identity...
    browser.submit("/identify/email/", email=user.email)
    browser.submit("/code", code=mailbox.code(user.email))  # ...and the owner's mailbox
    assert "/totp" in browser.url  # stopped here: nothing is tied to the account
    assert UpstreamLink.query.count() == 0
    assert (db.session.get(Identity, user.id).strongly_identified_at, db.session.get(Identity, user.id).verified_name
            ) == (None, None)
    [sent] = [m for m in json.loads(personal_data.export(user, origin=SYSTEM))["mail"]
              if m["kind"] == "upstream_email_code"]
    assert sent["to"] == user.email  # the owner's data download lists the mail sent to them

    browser.submit("/totp", code=app_code(secret))  # had it been the owner: linked once signed in
    db.session.expire_all()
    assert UpstreamLink.query.one().identity_id == user.id
    assert db.session.get(Identity, user.id).verified_name == "Mallory Malicious"


def test_an_account_identified_as_one_person_refuses_another(browser, bank, upstream_tunnus, user, matti, rp,
                                                            mailbox):
    upstream_tunnus.person(user.email, "Maija Meikäläinen")
    browser.get(rp.authorize_url())
    browser.submit("/identify/pankki")
    identify_at_bank(browser, user.email)  # Maija's account is now Maija's bank identity

    other = type(browser)(browser.client.application, upstream_tunnus)
    other.get("/login")
    other.submit("/identify/pankki")
    identify_at_bank(other, matti[0])
    other.submit("/identify/email/", email=user.email)
    other.submit("/code", code=mailbox.code(user.email))
    assert other.page.status_code == 409
    assert "This Tunnus account was already identified as another person." in other.text
    assert UpstreamLink.query.count() == 1
    assert events("upstream.identified")[-1].details["reason"] == "upstream_identified_as_another"


def test_a_bank_vouching_for_an_address_another_person_of_the_bank_holds_asks_for_an_address(
        browser, bank, upstream_tunnus, user, matti, mailbox):
    """A family shares an address: the account at it is the wife's, linked to her bank ID,
    and the husband's bank vouches for the same address. He is asked an address of his
    own, not refused every time as 'already identified as another person'."""
    upstream_tunnus.person(user.email, "Maija Meikäläinen")
    browser.get("/login")
    browser.submit("/identify/pankki")
    identify_at_bank(browser, user.email)
    assert UpstreamLink.query.one().identity_id == user.id

    upstream_tunnus.tampering.rewrite = lambda token: upstream_tunnus.sign(
        {**claims_of(token), "email": user.email, "email_verified": True})
    other = type(browser)(browser.client.application, upstream_tunnus)
    other.get("/login")
    other.submit("/identify/pankki")
    identify_at_bank(other, matti[0])
    assert other.page.status_code == 200 and "/identify/email/" in other.url
    upstream_tunnus.tampering.reset()
    other.submit("/identify/email/", email="matti@koti.example")
    other.submit("/code", code=mailbox.code("matti@koti.example"))
    matti_account = Identity.by_email("matti@koti.example")
    assert matti_account.verified_name == matti[1]
    assert {link.identity_id for link in UpstreamLink.query} == {user.id, matti_account.id}


@pytest.mark.parametrize("language, text", [
    ("fi", "Tunnistautuminen keskeytettiin."),
    ("sv", "Identifieringen avbröts."),
    ("en", "The identification was cancelled."),
])
def test_cancelling_at_the_provider_signs_nobody_in(browser, bank, upstream_tunnus, rp, language, text):
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    browser.get(rp.authorize_url())
    browser.stop_before = upstream_tunnus.issuer + "/authorize"
    browser.submit("/identify/pankki")
    state = parse_qs(urlsplit(browser.url).query)["state"][0]
    browser.get(f"/identify/pankki/callback?error=access_denied&state={state}&iss={upstream_tunnus.issuer}")
    assert browser.page.status_code == 400 and text in browser.text
    browser.get("/account")
    assert "/login" in browser.url


@pytest.mark.parametrize("error, status, said, audited", [
    ("temporarily_unavailable", 502, "The identification service is not answering. Try again in a moment.",
     "error: temporarily_unavailable"),
    ("invalid_request\x1b[2J\u202e", 400, "The identification could not be completed. Start again.",
     "error: invalid_request?[2J?"),
])
def test_a_providers_error_is_said_as_what_it_means_and_audited_printable(browser, bank, upstream_tunnus, rp,
                                                                          error, status, said, audited):
    """Before, a provider busy ("temporarily_unavailable") read "could not be completed.
    Start again", and the audit record kept the error as sent, control characters included."""
    browser.get(rp.authorize_url())
    browser.stop_before = upstream_tunnus.issuer + "/authorize"
    browser.submit("/identify/pankki")
    state = parse_qs(urlsplit(browser.url).query)["state"][0]
    browser.get("/identify/pankki/callback?" + urlencode({"error": error, "state": state,
                                                          "iss": upstream_tunnus.issuer}))
    assert browser.page.status_code == status and said in browser.text
    assert events("upstream.identified")[-1].details["reason"] == audited


@contextlib.contextmanager
def _linked_by_another_callback(bank, subject: str, identity):
    """Another callback's transaction links `subject` to `identity`, committing half a second
    into the block: a lookup in the block finds no link, an insert waits and then collides."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: the second callback never gets that far")
    other = db.engine.connect()
    transaction = other.begin()
    other.execute(sa.insert(UpstreamLink).values(upstream_id=bank.id, subject=subject, identity_id=identity.id,
                                                 linked_at=clock.now()))
    committing = threading.Timer(0.5, lambda: (transaction.commit(), other.close()))
    committing.start()
    try:
        yield
    finally:
        committing.join()


def test_two_callbacks_for_one_person_at_once_link_them_once(app, bank, user):
    """A second tab or a double click: the later callback joins the link the first made."""
    identified = Identified(subject="pankki-7", name="Maija Meikäläinen", email=user.email, email_verified=True)
    with _linked_by_another_callback(bank, "pankki-7", user):
        upstreams.record(bank, identified, user, origin=SYSTEM)
        db.session.commit()
    [link] = UpstreamLink.query.all()
    assert link.identity_id == user.id and link.verified_name == "Maija Meikäläinen"
    assert user.strongly_identified_at is not None


def test_a_subject_linked_to_someone_else_meanwhile_is_refused(app, bank, user):
    other = identities.create("toinen@example.fi", "correct horse battery staple", "Toinen", verified=True)
    identified = Identified(subject="pankki-8", name="Maija Meikäläinen", email=user.email, email_verified=True)
    with _linked_by_another_callback(bank, "pankki-8", other), pytest.raises(upstreams.LinkedElsewhere):
        upstreams.record(bank, identified, user, origin=SYSTEM)
    db.session.rollback()
    assert [link.identity_id for link in UpstreamLink.query.all()] == [other.id]


def test_proving_an_address_someone_else_registered_takes_it_from_them(app, browser, bank, matti, rp, mailbox):
    """A stranger registered the address (never proven) with a password of their own."""
    from tests.support.browser import Browser
    from tests.support.journeys import sign_in

    identities.create("matti@koti.example", "hyökkääjän oma salasana", "X", verified=False)
    email, name, _ = matti
    identified_proving(browser, rp, email, "matti@koti.example", mailbox)
    claims, _ = id_token(rp, browser)
    assert claims["email"] == "matti@koti.example" and claims["email_verified"] is True

    stranger = Browser(app)
    stranger.get("/login")
    sign_in(stranger, "matti@koti.example", "hyökkääjän oma salasana")
    assert "Your account" not in stranger.text
    assert Identity.by_email("matti@koti.example").password_hash is None
    assert len(events("identity.unproven_password_replaced")) == 1


def test_the_name_and_address_the_provider_vouches_for_are_kept_as_text(app, browser, bank, upstream_tunnus, matti,
                                                                        user, mailbox):
    """A name with a terminal's escape sequence and half a character, an address with a NUL:
    the name is kept on one line without them (it goes into ID tokens), the address is as
    good as none. Before, such values were stored in the flow, where on PostgreSQL they
    failed other people's requests (every live flow's JSON is read there)."""
    from tests.support.journeys import signed_in

    def hostile(token):
        return upstream_tunnus.sign({**claims_of(token), "name": "Matti\x1b[2J\x07 Virt\ud800anen\x01",
                                     "email": "maija\u0000@example.fi", "email_verified": True})

    upstream_tunnus.tampering.rewrite = hostile
    browser.get("/login")
    browser.submit("/identify/pankki")
    identify_at_bank(browser, matti[0])
    assert "/identify/email/" in browser.url and browser.form("/identify/email/")["fields"]["email"] == ""
    assert "You were identified as Matti[2J Virtanen." in browser.text

    signed_in(app, user)  # someone else, meanwhile, logs out her other devices
    maija = signed_in(app, user)
    maija.get("/account")
    maija.submit("/account/sessions/end-others")
    assert maija.page.status_code == 200

    browser.submit("/identify/email/", email="matti@koti.example")
    browser.submit("/code", code=mailbox.code("matti@koti.example"))
    identity = Identity.by_email("matti@koti.example")
    assert identity.verified_name == "Matti[2J Virtanen" == UpstreamLink.query.one().verified_name


def test_an_identification_under_way_ends_with_its_provider(app, browser, bank, upstream_tunnus, matti, mailbox):
    """Replaced by another provider meanwhile (on SQLite the new one may get the removed one's
    id): the subject the old provider vouched for is linked under neither."""
    browser.get("/login")
    browser.submit("/identify/pankki")
    identify_at_bank(browser, matti[0])
    assert "/identify/email/" in browser.url
    upstreams.remove(bank)
    upstreams.add("Pankki", "https://uusi-pankki.example", "tunnus", "s3cret")
    browser.submit("/identify/email/", email="matti@koti.example")
    browser.submit("/code", code=mailbox.code("matti@koti.example"))
    assert browser.page.status_code == 404 and UpstreamLink.query.count() == 0


def test_the_mailed_code_works_as_long_as_the_mail_says(app, browser, bank, matti, mailbox):
    """The code is read after lunch, past the half hour an identification lasts: the mail
    said it works for 24 hours, so the identification waits for it."""
    email, _name, _ = matti
    browser.get("/login")
    browser.submit("/identify/pankki")
    identify_at_bank(browser, email)
    browser.submit("/identify/email/", email="matti@koti.example")
    assert "The code works for 24 hours" in Mailbox.text(mailbox.last("matti@koti.example"))
    code = mailbox.code("matti@koti.example")

    clock.advance(31 * 60)
    browser.submit("/code", code=code)
    assert browser.page.status_code != 410 and Identity.by_email("matti@koti.example") is not None
    assert UpstreamLink.query.one().identity_id == Identity.by_email("matti@koti.example").id
