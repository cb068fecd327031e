"""Authorization codes: single use, short-lived, bound to client and redirect_uri."""
import base64

from idp.services import clock
from tests.support.journeys import authorize
from tests.support.rp import RelyingParty


def test_replayed_code_fails_and_revokes_the_tokens_issued_from_it(browser, rp, user):
    code = authorize(browser, rp, user)["code"]
    first = rp.redeem(code).get_json()
    assert rp.userinfo(first["access_token"]).status_code == 200

    replay = rp.redeem(code)
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"
    assert rp.userinfo(first["access_token"]).status_code == 401
    assert rp.refresh(first["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert rp.introspect(first["access_token"]).get_json() == {"active": False}


def test_code_expires_after_sixty_seconds(browser, rp, user):
    code = authorize(browser, rp, user)["code"]
    clock.advance(61)
    response = rp.redeem(code)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"


def test_code_is_bound_to_the_client_it_was_issued_to(app, browser, rp, user):
    code = authorize(browser, rp, user)["code"]
    other = RelyingParty.register(app, name="Toinen")
    other.verifier = rp.verifier
    response = other.redeem(code)
    assert response.get_json()["error"] == "invalid_grant"


def test_redirect_uri_must_match_the_authorization_request(browser, rp, user):
    code = authorize(browser, rp, user)["code"]
    response = rp.redeem(code, redirect_uri="https://rp.example/other")
    assert response.get_json()["error"] == "invalid_grant"


def test_a_missing_redirect_uri_is_invalid_request_and_leaves_the_code_usable(browser, rp, user):
    """RFC 6749 §4.1.3: required, as the authorization request had one; missing is §5.2's
    invalid_request (a wrong one stays invalid_grant)."""
    code = authorize(browser, rp, user)["code"]
    response = rp.redeem(code, redirect_uri=None)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"
    assert "redirect_uri" in response.get_json()["error_description"]
    unknown = rp.http.post("/token", data={"grant_type": "authorization_code", "code": code},
                           headers={"Authorization": "Basic " + base64.b64encode(b"nobody:wrong").decode()})
    assert unknown.status_code == 401  # who asks is checked first
    assert rp.redeem(code).status_code == 200


def test_unknown_code_is_invalid_grant(rp):
    response = rp.redeem("made-up-code")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"



def test_the_same_request_made_again_gets_a_new_code(browser, rp, user):
    """The Back button to the authorization URL after signing in: the same nonce and state."""
    authorize(browser, rp, user)
    url = rp.authorize_url()
    codes = []
    for _ in range(2):
        browser.get(url)
        codes.append(rp.callback_params(browser.url)["code"])
    tokens = rp.redeem(codes[1]).get_json()
    assert rp.verify_id_token(tokens["id_token"])["nonce"] == rp.nonce
