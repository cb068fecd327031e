"""How /userinfo takes a Bearer token and how it refuses one (RFC 6750 §2 and §3)."""
import base64

from tests.support.journeys import tokens_for


def test_no_token_gets_the_bearer_challenge_without_an_error_code(rp):
    response = rp.http.get("/userinfo")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"


def test_another_scheme_counts_as_no_token(rp):
    basic = base64.b64encode(f"{rp.client_id}:{rp.secret}".encode()).decode()
    response = rp.http.get("/userinfo", headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_in_the_form_body_is_accepted(browser, rp, user):
    tokens = tokens_for(browser, rp, user, scope="openid email")
    response = rp.http.post("/userinfo", data={"access_token": tokens["access_token"]})
    assert response.status_code == 200 and response.get_json()["email"] == user.email


def test_a_token_in_the_query_is_not_accepted(browser, rp, user):
    tokens = tokens_for(browser, rp, user, scope="openid email")
    response = rp.http.get(f"/userinfo?access_token={tokens['access_token']}")
    assert response.status_code == 401 and response.headers["WWW-Authenticate"] == "Bearer"


def test_a_token_sent_two_ways_at_once_is_invalid_request(browser, rp, user):
    tokens = tokens_for(browser, rp, user, scope="openid email")
    response = rp.http.post("/userinfo", data={"access_token": tokens["access_token"]},
                            headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


def test_a_token_without_openid_is_insufficient_scope_naming_it(browser, rp, user):
    tokens = tokens_for(browser, rp, user, scope="profile email")
    response = rp.userinfo(tokens["access_token"])
    assert response.status_code == 403 and response.get_json()["error"] == "insufficient_scope"
    assert response.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="openid"'
