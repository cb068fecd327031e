"""A parameter sent twice is refused, never decided by its first value (RFC 6749 §3.1,
§3.2; RFC 7009 and 7662 through it): invalid_request in JSON from the endpoints clients
call, the error page /authorize shows from /logout. One sent without a value is as if
omitted (§3.1)."""
import html
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from tests.support.journeys import authorize
from tests.support.rp import RelyingParty


def _invalid_request(response, name):
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json() == {"error": "invalid_request", "error_description": f"Parameter '{name}' is repeated."}
    assert response.headers["Cache-Control"] == "no-store"


def test_a_repeated_code_is_refused_and_the_code_still_works(browser, rp, user):
    code = authorize(browser, rp, user)["code"]
    _invalid_request(rp.redeem([code, "bogus"]), "code")
    assert rp.redeem(code).status_code == 200  # nothing was used up by the refused request


@pytest.mark.parametrize("grant_types", [None, ["client_credentials"]], ids=["code flow client", "machine"])
def test_a_parameter_in_both_the_query_and_the_body_is_repeated(app, grant_types):
    # Authlib reads both: the body's grant_type must not be overridden by the URL's, nor the
    # URL's ignored (by the answer given before Flask to a machine's usual request).
    client = RelyingParty.register(app, grant_types=grant_types)
    if grant_types:  # its first token puts it in the client cache: the next goes before Flask
        assert client.token_request(grant_type="client_credentials").status_code == 200
    response = client.http.post("/token?grant_type=refresh_token", data={"grant_type": "client_credentials"},
                                headers=client.basic_auth())
    _invalid_request(response, "grant_type")


@pytest.mark.parametrize("path", ["/revoke", "/introspect"])
def test_a_repeated_token_is_refused(browser, rp, user, path):
    code = authorize(browser, rp, user)["code"]
    tokens = rp.redeem(code).get_json()
    _invalid_request(rp.token_request_to(path, token=[tokens["access_token"], "other"]), "token")
    assert rp.introspect(tokens["access_token"]).get_json()["active"] is True


def test_a_repeated_access_token_at_userinfo_is_refused(app, browser, rp, user):
    """Before, the first of the two was taken."""
    tokens = rp.redeem(authorize(browser, rp, user)["code"]).get_json()
    answer = app.test_client().post("/userinfo", data={"access_token": [tokens["access_token"], "other"]})
    _invalid_request(answer, "access_token")
    assert rp.userinfo(tokens["access_token"]).status_code == 200


def test_a_repeated_parameter_is_refused_at_par(rp):
    params = dict(parse_qsl(urlsplit(rp.authorize_url()).query))
    _invalid_request(rp.token_request_to("/par", **dict(params, scope=[params["scope"], "openid"])), "scope")


def test_a_repeated_parameter_at_logout_is_the_error_page_authorize_shows(browser, rp):
    refused = {}
    for url in (rp.authorize_url() + "&state=again", "/logout?" + urlencode({"state": ["a", "b"]}, doseq=True)):
        response = browser.client.get(url)
        assert response.status_code == 400 and "Location" not in response.headers
        refused[url[:7]] = html.unescape(response.get_data(as_text=True))
    for page in refused.values():
        assert "invalid_request" in page and "Parameter 'state' is repeated." in page


@pytest.mark.parametrize("name", ["max_age", "response_mode", "claims", "request", "request_uri", "dpop_jkt"])
def test_a_parameter_sent_empty_is_as_if_omitted(browser, rp, user, name):
    """Libraries that write every parameter they know, empty when unset: before, refused."""
    assert "code" in authorize(browser, rp, user, **{name: ""})


@pytest.mark.parametrize("name", ["client_id", "client_secret"])
def test_an_empty_client_parameter_beside_basic_credentials_is_as_if_omitted(browser, rp, user, name):
    response = rp.redeem(authorize(browser, rp, user)["code"], **{name: ""})
    assert response.status_code == 200, response.get_json()


def test_a_parameter_sent_empty_is_as_if_omitted_when_pushed_too(rp):
    params = {**dict(parse_qsl(urlsplit(rp.authorize_url()).query)), "max_age": "", "claims": "", "dpop_jkt": ""}
    response = rp.token_request_to("/par", None, None, **params)
    assert response.status_code == 201, response.get_json()
