"""A browser-based app (a public client) calls /par, /token, /userinfo and /revoke from its own
origin: the answers, errors included, are readable there (CORS)."""
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.support.journeys import authorize

SPA = {"Origin": "https://spa.example"}


@pytest.mark.parametrize("path, method", [("/par", "POST"), ("/token", "POST"), ("/userinfo", "GET"),
                                          ("/revoke", "POST")])
def test_the_preflight_lets_the_app_send_its_token_and_form(public_rp, path, method):
    response = public_rp.http.options(path, headers={**SPA, "Access-Control-Request-Method": method,
                                                     "Access-Control-Request-Headers": "authorization, content-type"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert method in response.headers["Access-Control-Allow-Methods"]
    assert {"authorization", "content-type"} <= {h.strip().lower() for h in
                                                 response.headers["Access-Control-Allow-Headers"].split(",")}
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_the_app_reads_its_tokens_userinfo_and_revocation(browser, public_rp, user):
    callback = authorize(browser, public_rp, user)
    tokens = public_rp.http.post("/token", headers=SPA, data={
        "grant_type": "authorization_code", "code": callback["code"], "redirect_uri": "https://rp.example/callback",
        "client_id": public_rp.client_id, "code_verifier": public_rp.verifier})
    assert tokens.status_code == 200 and tokens.headers["Access-Control-Allow-Origin"] == "*"
    access_token = tokens.get_json()["access_token"]
    info = public_rp.http.get("/userinfo", headers={**SPA, "Authorization": f"Bearer {access_token}"})
    assert info.status_code == 200 and info.headers["Access-Control-Allow-Origin"] == "*"
    revoked = public_rp.http.post("/revoke", headers=SPA, data={"token": access_token,
                                                                "client_id": public_rp.client_id})
    assert revoked.status_code == 200 and revoked.headers["Access-Control-Allow-Origin"] == "*"


def test_the_app_reads_the_reference_to_its_pushed_request(public_rp):
    request = dict(parse_qsl(urlsplit(public_rp.authorize_url()).query))
    pushed = public_rp.http.post("/par", headers=SPA, data=request)
    assert pushed.status_code == 201 and pushed.headers["Access-Control-Allow-Origin"] == "*"
    assert pushed.get_json()["request_uri"].startswith("urn:ietf:params:oauth:request_uri:")


def test_a_refusal_is_readable_with_its_challenge(public_rp):
    response = public_rp.http.get("/userinfo", headers={**SPA, "Authorization": "Bearer expired-or-wrong"})
    assert response.status_code == 401 and response.headers["Access-Control-Allow-Origin"] == "*"
    assert "WWW-Authenticate" in response.headers["Access-Control-Expose-Headers"]


def test_pages_people_use_are_not_opened_to_other_origins(browser):
    assert "Access-Control-Allow-Origin" not in browser.client.get("/login", headers=SPA).headers
