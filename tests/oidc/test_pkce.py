"""PKCE (RFC 7636): S256 only, required of public clients, verified at the token endpoint."""
from tests.support.journeys import authorize, sign_in


def test_public_client_without_code_challenge_is_refused(browser, public_rp, user):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    browser.get(public_rp.authorize_url(pkce=False))
    callback = public_rp.callback_params(browser.url)
    assert callback["error"] == "invalid_request"
    assert "code_challenge" in callback["error_description"]


def test_plain_code_challenge_method_is_refused(browser, rp, user):
    callback = authorize(browser, rp, user, code_challenge_method="plain")
    assert callback["error"] == "invalid_request"
    assert "S256" in callback["error_description"]


def test_public_client_gets_tokens_with_the_right_verifier(browser, public_rp, user):
    callback = authorize(browser, public_rp, user)
    response = public_rp.redeem(callback["code"])
    assert response.status_code == 200
    assert public_rp.verify_id_token(response.get_json()["id_token"])["sub"] == user.sub


def test_wrong_code_verifier_is_invalid_grant(browser, public_rp, user):
    callback = authorize(browser, public_rp, user)
    response = public_rp.redeem(callback["code"], verifier="x" * 50)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_missing_code_verifier_is_refused(browser, public_rp, user):
    callback = authorize(browser, public_rp, user)
    response = public_rp.redeem(callback["code"], verifier=None)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_confidential_client_may_use_pkce_and_must_then_send_verifier(browser, rp, user):
    callback = authorize(browser, rp, user)
    response = rp.redeem(callback["code"], verifier=None)
    assert response.get_json()["error"] == "invalid_request"


def test_verifier_without_challenge_is_refused(browser, rp, user):
    callback = authorize(browser, rp, user, pkce=False)
    response = rp.redeem(callback["code"], verifier="y" * 50)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_confidential_client_without_pkce_still_works(browser, rp, user):
    callback = authorize(browser, rp, user, pkce=False)
    assert rp.redeem(callback["code"], verifier=None).status_code == 200
