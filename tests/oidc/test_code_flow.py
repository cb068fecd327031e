"""The authorization code flow end to end, as a browser and a relying service see it."""
import json
from urllib.parse import parse_qsl, urlsplit

import pytest
from joserfc import jwt
from werkzeug.datastructures import MultiDict

from idp.models import Client
from tests.support.journeys import authorize, tokens_for
from tests.support.rp import REDIRECT_URI, RelyingParty


def test_full_code_flow_gives_signed_id_token_with_all_claims(browser, rp, user):
    browser.get(rp.authorize_url())
    assert "Continue" in browser.text
    browser.submit("/identify", email="maija.meikalainen@example.fi")
    assert "maija.meikalainen@example.fi" in browser.text and "Not you?" in browser.text
    assert "Remember me on this computer" in browser.text
    browser.submit("/password", password=user.test_password)
    assert "Kirjasto wants to use your Tunnus account" in browser.text
    browser.submit("/authorize/consent/", button=("decision", "allow"))

    callback = rp.callback_params(browser.url)
    assert callback["state"] == rp.state
    assert callback["iss"] == "http://localhost"  # RFC 9207
    response = rp.redeem(callback["code"])
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["refresh_token"]

    claims = rp.verify_id_token(body["id_token"])
    assert claims["sub"] == user.sub
    assert claims["nonce"] == rp.nonce
    assert claims["email"] == "Maija.Meikalainen@Example.FI"
    assert claims["name"] == "Maija Meikäläinen"
    assert claims["amr"] == ["pwd"] and claims["acr"]
    assert claims["sid"] and claims["auth_time"] <= claims["iat"] < claims["exp"]
    assert claims["at_hash"]

    access = jwt.decode(body["access_token"], rp.jwks(), algorithms=["ES256"])
    assert access.header["typ"] == "at+jwt" and access.claims["sub"] == user.sub


def test_userinfo_answers_get_and_post_with_scoped_claims(browser, rp, user):
    tokens = tokens_for(browser, rp, user, scope="openid email")
    for method in ("GET", "POST"):
        response = rp.userinfo(tokens["access_token"], method=method)
        assert response.status_code == 200
        assert response.get_json() == {"sub": user.sub, "email": "Maija.Meikalainen@Example.FI",
                                       "email_verified": True}


def test_userinfo_rejects_missing_and_bad_tokens(rp):
    assert rp.http.get("/userinfo").status_code == 401
    response = rp.userinfo("not-a-token")
    assert response.status_code == 401
    assert "invalid_token" in response.headers["WWW-Authenticate"]


def test_consent_is_remembered_and_first_party_skips_it(browser, rp, public_rp, user):
    authorize(browser, rp, user)
    browser.get(rp.authorize_url())
    assert "code" in rp.callback_params(browser.url)
    browser.get(public_rp.authorize_url())
    assert "code" in public_rp.callback_params(browser.url)


def test_denied_consent_returns_access_denied(browser, rp, user):
    callback = authorize(browser, rp, user, consent=False)
    assert callback["error"] == "access_denied" and callback["state"] == rp.state
    assert callback["iss"] == "http://localhost"


def test_login_hint_skips_to_password_step(browser, rp, user):
    browser.get(rp.authorize_url(login_hint=user.email))
    assert 'data-testid="login-email"' in browser.text and user.email in browser.text


def test_confidential_client_can_authenticate_by_post(browser, rp, user):
    callback = authorize(browser, rp, user)
    response = rp.redeem(callback["code"], auth="post")
    assert response.status_code == 200


def test_plain_oauth_request_without_openid_gets_no_id_token(browser, rp, user):
    callback = authorize(browser, rp, user, scope="profile")
    body = rp.redeem(callback["code"]).get_json()
    assert "id_token" not in body and body["access_token"]


def test_a_post_from_another_site_is_answered_as_the_same_get(app, browser, rp, user):
    """SameSite=Lax keeps the session cookie from another site's form post: answered as it
    came, the request would set a new session cookie over the person's own and sign them
    out. The same request by GET carries the cookie and signs them in silently."""
    authorize(browser, rp, user)
    params = dict(parse_qsl(urlsplit(rp.authorize_url(prompt="none")).query))
    for path in ("/authorize", "/logout"):
        cross_site = app.test_client().post(path, data=params if path == "/authorize" else {"state": "x"})
        assert cross_site.status_code == 303 and "Set-Cookie" not in cross_site.headers
        assert cross_site.headers["Location"].startswith(path + "?")
    again = app.test_client().post("/authorize", data=params).headers["Location"]
    browser.get(again)  # the browser follows it, now with its cookie
    assert "code" in rp.callback_params(browser.url)


@pytest.mark.parametrize("path", ["/authorize", "/logout"])
def test_a_post_from_another_site_keeps_every_field_as_it_came(app, path):
    """Fields named as url_for's own arguments made the page a 500, for anyone. Each
    field goes back in the query as posted, repeated ones too."""
    fields = [("client_id", "kirjasto"), ("endpoint", "x"), ("_anchor", "y"), ("_method", "GET"),
              ("_scheme", "javascript"), ("_external", "1"), ("state", "ä&="), ("state", "b")]
    cross_site = app.test_client().post(path, data=MultiDict(fields))
    assert cross_site.status_code == 303
    location = urlsplit(cross_site.headers["Location"])
    assert not location.scheme and location.path == path and parse_qsl(location.query) == fields


def test_a_client_registered_for_es256_gets_es256_id_tokens(app, browser, runner, user):
    created = runner.invoke(args=["clients", "create", "--name", "Kartta", "--redirect-uri", REDIRECT_URI,
                                  "--first-party", "--id-token-alg", "ES256", "--json"])
    assert created.exit_code == 0, created.output
    registered = json.loads(created.output)
    assert registered["id_token_signed_response_alg"] == "ES256"
    rp = RelyingParty(app, Client.by_client_id(registered["client_id"]), registered["client_secret"])
    body = tokens_for(browser, rp, user)
    id_token = jwt.decode(body["id_token"], rp.jwks(), algorithms=["ES256"])
    assert id_token.header["alg"] == "ES256" and id_token.claims["sub"] == user.sub
    assert "ES256" in rp.http.get("/.well-known/openid-configuration").get_json()[
        "id_token_signing_alg_values_supported"]


def test_a_person_without_a_name_gets_no_empty_name_claim(browser, rp):
    """None rather than "" (OIDC Core §5.3.2): services reading name or else the address
    showed a blank name."""
    from idp.services import identities

    nameless = identities.create("nimeton@example.fi", "correct horse battery staple", verified=True)
    nameless.test_password = "correct horse battery staple"
    tokens = tokens_for(browser, rp, nameless, scope="openid profile email")
    assert "name" not in jwt.decode(tokens["id_token"], rp.jwks()).claims
    assert "name" not in rp.userinfo(tokens["access_token"]).get_json()


def test_updated_at_moves_with_the_profile_not_with_a_wrong_password(app, browser, rp, user):
    """Before, any write to the person's row moved it: a stranger's wrong password told
    every service that the profile had changed, and when someone had tried."""
    from idp.services import clock
    from tests.support.browser import Browser

    def updated_at(tokens):
        return jwt.decode(tokens["id_token"], rp.jwks()).claims["updated_at"]

    before = updated_at(tokens_for(browser, rp, user))
    clock.advance(3600)
    stranger = Browser(app)
    stranger.get("/login")
    stranger.submit("/identify", email=user.email)
    stranger.submit("/password", password="not the password")
    assert updated_at(tokens_for(Browser(app), rp, user)) == before
    browser.get("/account")
    browser.submit("/account/profile", name="Maija Uusinimi", phone="", locale="fi")
    assert updated_at(tokens_for(Browser(app), rp, user)) > before
