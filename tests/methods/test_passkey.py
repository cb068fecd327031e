"""Signing in with a passkey: from the first page (no email typed), as the second factor
after the password, and stepping up a password session a relying service asks more of;
and the answers Tunnus refuses. The relying service reads amr and acr from the ID token."""
import json

import pytest

from idp.methods.levels import ACR_MULTI_FACTOR, ACR_PASSWORD
from idp.models import AuditEvent, Passkey
from idp.services import identities
from tests.support import passkeys
from tests.support.journeys import authorize, sign_in
from tests.support.browser import Browser
from tests.support.totp import app_code, enrol
from tests.support.webauthn_authenticator import Authenticator, b64url, unb64url

NOT_REGISTERED = "This passkey is not registered in Tunnus."


def id_token(rp, callback):
    response = rp.redeem(callback["code"])
    assert response.status_code == 200, response.get_json()
    return rp.verify_id_token(response.get_json()["id_token"])


def consent_if_asked(browser):
    if "/authorize/consent/" in browser.text:
        browser.submit("/authorize/consent/", button=("decision", "allow"))


def with_app_and_passkey(app, user, device) -> str:
    """TOTP and a passkey set up in one signed-in browser; returns the app's secret."""
    elsewhere = Browser(app)
    elsewhere.get("/login")
    sign_in(elsewhere, user.email, user.test_password)
    secret, _ = enrol(elsewhere, user)
    passkeys.add(elsewhere, user, device, "My phone")
    return secret


def failures(reason):
    return AuditEvent.query.filter_by(event="passkey.used", result="failure").filter(
        AuditEvent.details["reason"].as_string() == reason).count()


@pytest.mark.parametrize("synced, amr", [(True, "swk"), (False, "hwk")])
def test_passkey_on_the_first_page_signs_in_without_email_with_mfa(app, browser, rp, user, synced, amr):
    device = Authenticator(synced=synced)
    passkeys.added(app, user, device)
    browser.get(rp.authorize_url())
    assert "Sign in with a passkey" in browser.text
    passkeys.sign_in_with_passkey(browser, device)
    consent_if_asked(browser)
    claims = id_token(rp, rp.callback_params(browser.url))
    assert claims["sub"] == user.sub
    assert claims["amr"] == [amr] and claims["acr"] == ACR_MULTI_FACTOR
    assert Passkey.query.one().last_used_at is not None


def test_passkey_is_offered_on_the_password_page_a_login_hint_leads_to(app, browser, rp, user):
    device = Authenticator()
    passkeys.added(app, user, device)
    browser.get(rp.authorize_url(login_hint=user.email))
    assert "/password" in browser.form("/password")["action"] and "Sign in with a passkey" in browser.text
    passkeys.sign_in_with_passkey(browser, device, user_verified=False)
    assert browser.page.status_code == 400 and "The passkey could not be verified." in browser.text
    assert "/password" in browser.form("/password")["action"]  # still the page it was on
    passkeys.sign_in_with_passkey(browser, device)
    consent_if_asked(browser)
    claims = id_token(rp, rp.callback_params(browser.url))
    assert claims["sub"] == user.sub and claims["acr"] == ACR_MULTI_FACTOR


def test_passkey_first_skips_the_app_code_but_not_a_campaign(app, browser, runner, user):
    from tests.campaigns.helpers import started

    device = Authenticator()
    with_app_and_passkey(app, user, device)
    started(runner, "all", deadline="2099-01-01T12:00")
    browser.get("/login")
    passkeys.sign_in_with_passkey(browser, device)
    assert "/totp" not in browser.url
    assert "Before you continue" in browser.text


def test_first_page_needs_user_verification(app, browser, user):
    device = Authenticator()
    passkeys.added(app, user, device)
    browser.get("/login")
    passkeys.sign_in_with_passkey(browser, device, user_verified=False)
    assert browser.page.status_code == 400 and "The passkey could not be verified." in browser.text
    browser.get("/account", follow=False)
    assert browser.page.status_code == 302  # not signed in


def test_passkey_is_the_second_factor_after_the_password(app, browser, rp, user):
    device = Authenticator()
    passkeys.added(app, user, device)
    browser.get(rp.authorize_url())
    sign_in(browser, user.email, user.test_password)
    assert "/passkey/verify" in browser.url and "Use your passkey" in browser.text
    assert "Use your authenticator app instead" not in browser.text
    browser.get(browser.url.replace("/passkey/verify", "/totp"))  # no app: back to the passkey
    assert "/passkey/verify" in browser.url
    # As a second factor a passkey that does not verify the person is enough.
    passkeys.verify(browser, device, user_verified=False)
    consent_if_asked(browser)
    claims = id_token(rp, rp.callback_params(browser.url))
    assert claims["amr"] == ["pwd", "hwk"] and claims["acr"] == ACR_MULTI_FACTOR


def test_with_a_passkey_and_an_app_the_person_may_choose_either(app, browser, rp, user):
    secret = with_app_and_passkey(app, user, Authenticator())
    browser.get(rp.authorize_url())
    sign_in(browser, user.email, user.test_password)
    assert "/passkey/verify" in browser.url
    browser.get(browser.url.replace("/passkey/verify", "/totp"))
    assert "Use a passkey instead" in browser.text
    browser.submit("/totp", code=app_code(secret))
    consent_if_asked(browser)
    assert id_token(rp, rp.callback_params(browser.url))["amr"] == ["pwd", "otp"]


def test_someone_elses_passkey_is_not_a_second_factor(app, browser, user):
    passkeys.added(app, user, Authenticator())
    other = identities.create("toinen@example.fi", "another long password", "Toinen", verified=True)
    other.test_password = "another long password"
    theirs = Authenticator()
    passkeys.added(app, other, theirs)
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    options = passkeys.inline_options(browser.text)
    answer = theirs.get(options, credential=theirs.credentials[0])
    browser.submit("/passkey", credential=json.dumps(answer))
    assert browser.page.status_code == 401 and NOT_REGISTERED in browser.text


def test_step_up_with_a_passkey_keeps_the_session(browser, rp, user):
    before = id_token(rp, authorize(browser, rp, user))
    assert before["acr"] == ACR_PASSWORD
    device = Authenticator(synced=True)
    passkeys.add(browser, user, device, "My phone")
    browser.get(rp.authorize_url(acr_values=ACR_MULTI_FACTOR))
    assert "/login/step-up/passkey" in browser.url
    passkeys.verify(browser, device, forge=True)
    assert browser.page.status_code == 400 and "The passkey could not be verified." in browser.text
    passkeys.verify(browser, device)
    consent_if_asked(browser)
    after = id_token(rp, rp.callback_params(browser.url))
    assert after["amr"] == ["pwd", "swk"] and after["acr"] == ACR_MULTI_FACTOR
    assert after["sid"] == before["sid"]
    assert AuditEvent.query.filter_by(event="session.stepped_up").one().details["method"] == "passkey"


def test_step_up_offers_the_app_too_when_the_person_has_both(app, browser, rp, user):
    authorize(browser, rp, user)
    secret = with_app_and_passkey(app, user, Authenticator())
    browser.get(rp.authorize_url(acr_values=ACR_MULTI_FACTOR))
    assert "/login/step-up/passkey" in browser.url
    browser.get(browser.url.replace("/login/step-up/passkey", "/login/step-up"))
    browser.submit("/login/step-up", code=app_code(secret))
    consent_if_asked(browser)
    assert id_token(rp, rp.callback_params(browser.url))["amr"] == ["pwd", "otp"]


def test_a_forged_signature_is_refused(app, browser, user):
    device = Authenticator()
    passkeys.added(app, user, device)
    browser.get("/login")
    passkeys.sign_in_with_passkey(browser, device, forge=True)
    assert browser.page.status_code == 400 and "The passkey could not be verified. Try again." in browser.text
    assert failures("invalid") == 1


def test_an_answer_made_for_another_origin_is_refused(app, browser, user):
    device = Authenticator()
    passkeys.added(app, user, device)
    browser.get("/login")
    passkeys.sign_in_with_passkey(browser, device, origin="https://tunnus.example.evil")
    assert browser.page.status_code == 400 and "The passkey could not be verified." in browser.text


def test_a_challenge_answers_once(app, browser, user):
    device = Authenticator(synced=True, counting=False)  # no signature count to catch a replay
    passkeys.added(app, user, device)
    browser.get("/login")
    ceremony, answer = passkeys.first_step_answer(browser, device)
    browser.submit("/passkey", ceremony=ceremony, credential=answer)
    assert browser.url.endswith("/account")

    browser.get("/login")  # a new login in the same browser
    form = browser.form("/passkey")
    used = json.loads(unb64url(json.loads(answer)["response"]["clientDataJSON"]))["challenge"]
    fresh = json.dumps(device.get({"challenge": used, "rpId": "localhost"}))
    for replayed in (answer, fresh):  # the same answer, and a new signature over the used challenge
        response = browser.client.post(form["action"], data={**form["fields"], "ceremony": ceremony,
                                                              "credential": replayed})
        assert response.status_code == 400 and "That took too long. Try again." in response.get_data(as_text=True)


def test_an_unknown_passkey_is_refused_with_its_own_message(browser):
    device = Authenticator()  # holds a passkey for this site that Tunnus never registered
    device.create({"rp": {"id": "localhost"}, "user": {"id": b64url(b"elsewhere")}, "challenge": b64url(b"-")})
    browser.get("/login")
    passkeys.sign_in_with_passkey(browser, device)
    assert browser.page.status_code == 401 and NOT_REGISTERED in browser.text
    assert failures("unknown") == 1


def test_a_cloned_authenticator_whose_count_goes_back_is_refused(app, browser, user):
    device = Authenticator()
    passkeys.added(app, user, device)
    browser.get("/login")
    passkeys.sign_in_with_passkey(browser, device)
    device.credentials[0].sign_count -= 1  # the clone signs with the count the original had
    browser.get("/login")
    passkeys.sign_in_with_passkey(browser, device)
    assert browser.page.status_code == 400 and "could not be verified" in browser.text


def test_a_browser_without_webauthn_is_told(browser):
    browser.get("/login")
    browser.submit("/passkey", credential="")
    assert browser.page.status_code == 400
    assert "This browser cannot use passkeys. Try another browser or device." in browser.text
    assert 'data-passkey-problem="unsupported" hidden' not in browser.text


def test_passkey_answers_are_limited_per_ip_like_passwords(app, browser):
    app.config["IDP_LOGIN_RATE_LIMIT"] = "3 per minute"
    browser.get("/login")
    statuses = [browser.submit("/passkey", credential='{"id": "x"}').status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert "Retry-After" in browser.page.headers


@pytest.mark.parametrize("credential_id", ["\u0000", "\ud800", "x" * 2000])
def test_an_answer_whose_id_is_not_its_raw_id_is_refused(app, browser, user, credential_id):
    """py_webauthn takes `id` as sent; a NUL or half a character in it was a 500."""
    device = Authenticator()
    passkeys.added(app, user, device)
    browser.get("/login")
    ceremony, answer = passkeys.first_step_answer(browser, device)
    browser.submit("/passkey", ceremony=ceremony, credential=json.dumps({**json.loads(answer), "id": credential_id}))
    assert browser.page.status_code == 400 and "The passkey could not be verified." in browser.text
    assert failures("invalid") == 1


def test_an_answer_nested_too_deeply_is_refused_as_any_malformed_one(app, browser, user):
    browser.get("/login")
    ceremony = passkeys.fetched_options(browser)["ceremony"]
    browser.submit("/passkey", ceremony=ceremony, credential="[" * 2000 + "]" * 2000)
    assert browser.page.status_code == 400 and "The passkey could not be verified." in browser.text
    sign_in(browser, user.email, user.test_password)
    browser.get("/account/passkeys")
    browser.submit("/account/passkeys/new", name="Phone", current_password=user.test_password)
    browser.submit("/account/passkeys/register", credential='{"a":' * 1500 + "1" + "}" * 1500)
    assert "The passkey could not be verified. Try again." in browser.text and Passkey.query.count() == 0
