"""acr and amr: the ID token says how the person signed in, and a relying service that
demands the second factor (acr_values, or an essential acr in `claims`) gets it: a
password-only session is stepped up, or the request is refused if it cannot be."""
import json

from idp.methods.levels import ACR_MULTI_FACTOR, ACR_PASSWORD, ACR_PIN, ACR_STRONG
from idp.models import AuditEvent
from tests.support.journeys import authorize, sign_in
from tests.support.totp import app_code, enrol, enrolled, wrong_code

ESSENTIAL_MFA = json.dumps({"id_token": {"acr": {"essential": True, "values": [ACR_MULTI_FACTOR]}}})


def id_token(rp, callback):
    response = rp.redeem(callback["code"])
    assert response.status_code == 200, response.get_json()
    return rp.verify_id_token(response.get_json()["id_token"])


def consent_if_asked(browser):
    if "/authorize/consent/" in browser.text:
        browser.submit("/authorize/consent/", button=("decision", "allow"))


def password_session_then_enrol(browser, rp, user):
    """Signed in with the password, TOTP set up afterwards: the session is password level."""
    claims = id_token(rp, authorize(browser, rp, user))
    assert claims["acr"] == ACR_PASSWORD and claims["amr"] == ["pwd"]
    secret, codes = enrol(browser, user)
    return claims, secret, codes


def test_id_token_carries_amr_pwd_otp_and_acr_mfa_after_a_two_step_login(app, browser, rp, user):
    secret, _ = enrolled(app, user)
    browser.get(rp.authorize_url())
    sign_in(browser, user.email, user.test_password)
    browser.submit("/totp", code=app_code(secret))
    consent_if_asked(browser)
    claims = id_token(rp, rp.callback_params(browser.url))
    assert claims["amr"] == ["pwd", "otp"] and claims["acr"] == ACR_MULTI_FACTOR


def test_acr_values_mfa_steps_up_a_password_only_session(browser, rp, user):
    before, secret, _ = password_session_then_enrol(browser, rp, user)
    browser.get(rp.authorize_url(acr_values=f"{ACR_MULTI_FACTOR}"))
    assert "/login/step-up" in browser.url and 'autocomplete="one-time-code"' in browser.text
    assert 'name="password"' not in browser.text  # the session already proved the password
    browser.submit("/login/step-up", code=wrong_code(secret))
    assert browser.page.status_code == 400 and "The code is not correct." in browser.text
    browser.submit("/login/step-up", code=app_code(secret))
    consent_if_asked(browser)
    after = id_token(rp, rp.callback_params(browser.url))
    assert after["acr"] == ACR_MULTI_FACTOR and after["amr"] == ["pwd", "otp"]
    assert after["sid"] == before["sid"]  # the same session, stepped up
    assert AuditEvent.query.filter_by(event="session.stepped_up").count() == 1

    browser.get(rp.authorize_url(acr_values=ACR_MULTI_FACTOR))  # now met without asking
    assert id_token(rp, rp.callback_params(browser.url))["acr"] == ACR_MULTI_FACTOR


def test_claims_parameter_with_essential_acr_steps_up_the_same_way(browser, rp, user):
    _, _, codes = password_session_then_enrol(browser, rp, user)
    browser.get(rp.authorize_url(claims=ESSENTIAL_MFA))
    assert "/login/step-up" in browser.url and "Use a recovery code instead" in browser.text
    browser.get(browser.url.replace("/login/step-up?", "/login/step-up/recovery?"))
    browser.submit("/login/step-up/recovery", code=codes[0])
    consent_if_asked(browser)
    claims = id_token(rp, rp.callback_params(browser.url))
    assert claims["acr"] == ACR_MULTI_FACTOR and "otp" in claims["amr"]


def test_voluntary_acr_claim_and_password_level_do_not_step_up(browser, rp, user):
    password_session_then_enrol(browser, rp, user)
    voluntary = json.dumps({"id_token": {"acr": {"values": [ACR_MULTI_FACTOR]}}})
    browser.get(rp.authorize_url(claims=voluntary))
    assert id_token(rp, rp.callback_params(browser.url))["acr"] == ACR_PASSWORD
    browser.get(rp.authorize_url(acr_values=ACR_PASSWORD))
    assert id_token(rp, rp.callback_params(browser.url))["acr"] == ACR_PASSWORD


def test_mfa_session_satisfies_a_password_level_request(app, browser, rp, user):
    secret, _ = enrolled(app, user)
    browser.get(rp.authorize_url(acr_values=ACR_PASSWORD))
    sign_in(browser, user.email, user.test_password)
    browser.submit("/totp", code=app_code(secret))
    consent_if_asked(browser)
    assert id_token(rp, rp.callback_params(browser.url))["acr"] == ACR_MULTI_FACTOR


def test_an_essential_acr_gets_one_of_its_values_even_from_a_higher_session(app, browser, rp, user):
    # OIDC Core §5.5.1.1: the acr returned must be one of the essential values.
    secret, _ = enrolled(app, user)
    essential = json.dumps({"id_token": {"acr": {"essential": True, "values": [ACR_PIN, ACR_PASSWORD]}}})
    browser.get(rp.authorize_url(claims=essential))
    sign_in(browser, user.email, user.test_password)
    browser.submit("/totp", code=app_code(secret))
    consent_if_asked(browser)
    claims = id_token(rp, rp.callback_params(browser.url))
    assert claims["acr"] == ACR_PASSWORD and claims["amr"] == ["pwd", "otp"]


def test_malformed_claims_parameter_is_invalid_request(browser, rp, user):
    for claims in ("{not json", "[]", json.dumps({"id_token": []}),
                   json.dumps({"id_token": {"acr": {"essential": True, "values": "urn:tunnus:acr:mfa"}}})):
        browser.get(rp.authorize_url(claims=claims))
        callback = rp.callback_params(browser.url)
        assert callback["error"] == "invalid_request", claims
        assert callback["state"] == rp.state
        assert "'claims' must be a JSON object" in callback["error_description"]


def test_mfa_demanded_of_someone_without_a_second_factor_is_access_denied(browser, rp, user):
    browser.get(rp.authorize_url(acr_values=ACR_MULTI_FACTOR))
    sign_in(browser, user.email, user.test_password)
    callback = rp.callback_params(browser.url)
    assert callback["error"] == "access_denied"
    assert callback["error_description"] == "A second factor is required; set one up in your account."
    assert AuditEvent.query.filter_by(event="authorize.acr_unmet").count() == 1


def test_unknown_acr_values_are_ignored(browser, rp, user):
    authorize(browser, rp, user)
    browser.get(rp.authorize_url(acr_values="1 2"))
    callback = rp.callback_params(browser.url)
    claims = rp.verify_id_token(rp.redeem(callback["code"]).get_json()["id_token"])
    assert claims["acr"] == ACR_PASSWORD


def test_an_essential_acr_of_unknown_values_only_is_access_denied(browser, rp, user):
    authorize(browser, rp, user)
    browser.get(rp.authorize_url(claims=json.dumps({"id_token": {"acr": {"essential": True,
                                                                          "values": ["urn:example:loa:4"]}}})))
    callback = rp.callback_params(browser.url)
    assert callback["error"] == "access_denied"
    assert callback["error_description"] == "None of the requested authentication levels is supported."


def test_prompt_none_cannot_step_up(browser, rp, user):
    password_session_then_enrol(browser, rp, user)
    browser.get(rp.authorize_url(acr_values=ACR_MULTI_FACTOR, prompt="none"))
    assert rp.callback_params(browser.url)["error"] == "login_required"


def test_discovery_lists_acr_values_supported(rp):
    meta = rp.http.get("/.well-known/openid-configuration").get_json()
    assert meta["acr_values_supported"] == [ACR_PIN, ACR_PASSWORD, ACR_MULTI_FACTOR, ACR_STRONG]  # lowest first
    assert {"acr", "amr"} <= set(meta["claims_supported"])
