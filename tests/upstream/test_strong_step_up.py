"""A relying service demanding the strong level (acr_values or an essential acr claim):
only identifying with an upstream provider reaches it. A signed-in session is stepped up
in place; a signed-out person goes straight to identification."""
from __future__ import annotations

import json

from idp.extensions import db
from idp.flows.email_change import EmailChangeFlow
from idp.methods.levels import ACR_MULTI_FACTOR, ACR_PASSWORD, ACR_STRONG
from idp.models import AuditEvent, Identity, LoginSession, UpstreamLink
from idp.services import identities, upstreams
from tests.support.browser import Browser
from tests.support.journeys import authorize, sign_in
from tests.support.races import at_once, meet_after, post, row_locks
from tests.support.totp import app_code, enrolled
from tests.support.upstream import identify_at_bank

ESSENTIAL_STRONG = json.dumps({"id_token": {"acr": {"essential": True, "values": [ACR_STRONG]}}})
BANK_EMAIL = "maija@pankki.example"
VERIFIED_NAME = "Maija Annikki Meikäläinen"
NEW_EMAIL = "maija@uusi.example"


def tokens(rp, callback):
    response = rp.redeem(callback["code"])
    assert response.status_code == 200, response.get_json()
    return rp.verify_id_token(response.get_json()["id_token"]), response.get_json()["access_token"]


def consented(browser, rp):
    if "/authorize/consent/" in browser.text:
        browser.submit("/authorize/consent/", button=("decision", "allow"))
    return rp.callback_params(browser.url)


def test_password_session_is_stepped_up_by_identifying_with_the_provider(browser, bank, upstream_tunnus, user, rp):
    before, _ = tokens(rp, authorize(browser, rp, user))
    assert before["acr"] == ACR_PASSWORD and before["name"] == "Maija Meikäläinen"
    bank_sub = upstream_tunnus.person(BANK_EMAIL, VERIFIED_NAME)  # the bank knows another address

    browser.get(rp.authorize_url(acr_values=ACR_STRONG))
    assert "/identify?" in browser.url and "The service asks you to identify yourself strongly" in browser.text
    assert 'name="password"' not in browser.text  # no password reaches this level
    browser.submit("/identify/pankki")
    identify_at_bank(browser, BANK_EMAIL)
    assert "Type the account's password to link it." in browser.text  # the bank ID is new to the account
    browser.submit("/identify/password/", current_password=user.test_password)
    after, access_token = tokens(rp, consented(browser, rp))

    assert after["acr"] == ACR_STRONG and after["amr"] == ["pwd", "fed"]
    assert after["sid"] == before["sid"] and after["sub"] == user.sub  # the same session, stepped up
    assert after["name"] == VERIFIED_NAME and rp.userinfo(access_token).get_json()["name"] == VERIFIED_NAME
    link = UpstreamLink.query.one()
    assert (link.identity_id, link.subject) == (user.id, bank_sub)  # the signed-in person, whatever address
    assert AuditEvent.query.filter_by(event="session.stepped_up").one().details["method"] == "upstream"

    browser.get(rp.authorize_url(claims=ESSENTIAL_STRONG))  # met now, without asking
    assert tokens(rp, rp.callback_params(browser.url))[0]["acr"] == ACR_STRONG
    browser.get(rp.authorize_url(acr_values=ACR_MULTI_FACTOR))  # strong satisfies lower levels
    assert tokens(rp, rp.callback_params(browser.url))[0]["acr"] == ACR_STRONG


def test_signed_out_person_goes_straight_to_identification(browser, bank, upstream_tunnus, user, rp):
    upstream_tunnus.person(user.email, VERIFIED_NAME)
    browser.get(rp.authorize_url(claims=ESSENTIAL_STRONG))
    assert "/identify?" in browser.url and "/login" not in browser.url
    browser.submit("/identify/pankki")
    identify_at_bank(browser, user.email)
    claims, _ = tokens(rp, consented(browser, rp))
    assert claims["sub"] == user.sub and claims["acr"] == ACR_STRONG and claims["amr"] == ["fed"]


def test_second_factor_does_not_reach_the_strong_level(app, browser, bank, user, rp):
    secret, _ = enrolled(app, user)
    browser.get(rp.authorize_url())
    sign_in(browser, user.email, user.test_password)
    browser.submit("/totp", code=app_code(secret))
    assert tokens(rp, consented(browser, rp))[0]["acr"] == ACR_MULTI_FACTOR

    browser.get(rp.authorize_url(acr_values=ACR_STRONG))
    assert "/identify?" in browser.url and "/login/step-up" not in browser.url
    browser.get(rp.authorize_url(acr_values=f"{ACR_MULTI_FACTOR} {ACR_STRONG}"))  # MFA is enough here
    assert tokens(rp, rp.callback_params(browser.url))[0]["acr"] == ACR_MULTI_FACTOR


def test_strong_level_without_providers_is_access_denied(browser, user, rp):
    browser.get(rp.authorize_url(acr_values=ACR_STRONG))
    callback = rp.callback_params(browser.url)
    assert callback["error"] == "access_denied"
    assert callback["error_description"] == "Strong identification is not available."
    authorize(browser, rp, user)
    browser.get(rp.authorize_url(acr_values=ACR_STRONG))
    assert rp.callback_params(browser.url)["error_description"] == "Strong identification is not available."
    assert AuditEvent.query.filter_by(event="authorize.acr_unmet").count() == 2


def test_prompt_none_cannot_identify(browser, bank, user, rp):
    browser.get(rp.authorize_url(acr_values=ACR_STRONG, prompt="none"))
    assert rp.callback_params(browser.url)["error"] == "login_required"
    authorize(browser, rp, user)
    browser.get(rp.authorize_url(acr_values=ACR_STRONG, prompt="none"))
    assert rp.callback_params(browser.url)["error"] == "login_required"


def test_step_up_with_another_accounts_identification_is_refused(browser, bank, upstream_tunnus, user, rp):
    other = identities.create("toinen@example.fi", "another horse battery staple", "Toinen", verified=True)
    bank_sub = upstream_tunnus.person(BANK_EMAIL, VERIFIED_NAME)
    db.session.add(UpstreamLink(upstream_id=bank.id, subject=bank_sub, identity_id=other.id))
    db.session.commit()
    before, _ = tokens(rp, authorize(browser, rp, user))

    browser.get(rp.authorize_url(acr_values=ACR_STRONG))
    browser.submit("/identify/pankki")
    identify_at_bank(browser, BANK_EMAIL)
    assert browser.page.status_code == 409
    assert "This identification belongs to another Tunnus account." in browser.text
    session = LoginSession.query.filter_by(sid=before["sid"]).one()
    assert session.acr == ACR_PASSWORD and session.amr == ["pwd"]
    assert user.verified_name is None and user.strongly_identified_at is None


def test_step_up_is_refused_when_the_session_ended_meanwhile(browser, bank, upstream_tunnus, user, rp):
    upstream_tunnus.person(BANK_EMAIL, VERIFIED_NAME)
    authorize(browser, rp, user)
    browser.get(rp.authorize_url(acr_values=ACR_STRONG))
    browser.submit("/identify/pankki")
    browser.stop_before = "http://localhost/identify/pankki/callback"
    identify_at_bank(browser, BANK_EMAIL)
    answer, browser.stop_before = browser.url, None
    browser.get("/account")
    browser.submit("/logout", button=("confirm", "1"))
    browser.get(answer)
    assert browser.page.status_code == 400
    assert "The identification could not be completed. Start again." in browser.text
    assert LoginSession.query.filter(LoginSession.ended_at.is_(None)).count() == 0
    assert UpstreamLink.query.count() == 0


@row_locks
def test_a_step_up_as_the_person_confirms_a_new_sign_in_email_is_answered_both(app, browser, bank, upstream_tunnus,
                                                                                user, rp, mailbox, monkeypatch):
    """The bank's answer to a step-up comes back just as the person confirms, by the mailed
    link on their phone, a change of the sign-in email. Both are answered, not one with an
    error: the address changes, and the session is stepped up, the person identified."""
    upstream_tunnus.person(BANK_EMAIL, VERIFIED_NAME)
    authorize(browser, rp, user)
    browser.get("/account")
    browser.submit("/account/email", new_email=NEW_EMAIL, current_password=user.test_password)
    confirming = Browser(app)
    confirming.get(mailbox.link(NEW_EMAIL, "/confirm/"))
    browser.get(rp.authorize_url(acr_values=ACR_STRONG))
    browser.submit("/identify/pankki")
    browser.stop_before = "http://localhost/identify/pankki/callback"
    identify_at_bank(browser, BANK_EMAIL)
    answer, browser.stop_before = browser.url, None
    browser.get(answer)  # the bank ID is new to the account: its password links it
    # The change holds its journey (and the person's row before it) as the step-up has linked
    # the bank's subject to the person; then each goes on.
    meet_after(monkeypatch, (EmailChangeFlow, "_lock"), (upstreams, "add_or_existing"))
    stepped, confirmed = at_once(lambda: browser.submit("/identify/password/",
                                                        current_password=user.test_password),
                                 post(app, confirming, "/confirm/"))
    monkeypatch.undo()

    assert confirmed.status_code == 200 and "Email address changed" in confirmed.get_data(as_text=True), \
        confirmed.status_code
    assert stepped.status_code in (200, 302), stepped.status_code
    claims, _ = tokens(rp, consented(browser, rp))
    assert claims["acr"] == ACR_STRONG and claims["name"] == VERIFIED_NAME
    db.session.expire_all()
    stored = db.session.get(Identity, user.id)
    assert stored.email == NEW_EMAIL and stored.strongly_identified_at is not None
