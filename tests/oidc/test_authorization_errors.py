"""Bad authorization requests: shown as a page until the redirect_uri is trusted,
then returned to the client with the OAuth error code, state and iss."""
import re
from urllib.parse import urlencode

import pytest

from tests.support.journeys import authorize, sign_in, tokens_for


def _authorize(browser, **params):
    return browser.client.get("/authorize?" + urlencode(params))


def test_unknown_client_is_an_error_page_never_a_redirect(browser):
    response = _authorize(browser, response_type="code", client_id="nobody", redirect_uri="https://evil.example/cb",
                          scope="openid")
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "invalid_client" in response.get_data(as_text=True)


@pytest.mark.parametrize("redirect_uri", [
    "https://evil.example/callback",
    "https://rp.example/callback/",
    "https://rp.example/callback?x=1",
    "https://RP.example/callback",
    "https://rp.example/callback\n",  # a control character: a clear error page, not a crash
    "https://rp.example/call\tback",
    # none of these is in a URI, nor could Authlib quote it in its refusal (before, a 500)
    "https://rp.example/cällback",
    'https://rp.example/callback"',
    "https://rp.example/callback\\",
    "https://rp.example/call back",
    "",
])
def test_redirect_uri_must_match_exactly(browser, rp, redirect_uri):
    response = _authorize(browser, response_type="code", client_id=rp.client_id, redirect_uri=redirect_uri,
                          scope="openid")
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "invalid_request" in response.get_data(as_text=True)


@pytest.mark.parametrize("redirect_uri", ["https://rp.example/cällback", 'https://rp.example/"', "http://[::1"])
def test_a_pushed_redirect_uri_that_is_no_uri_is_a_json_error(rp, redirect_uri, caplog):
    response = rp.push(redirect_uri=redirect_uri)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"
    assert "unhandled error" not in caplog.text


def test_unsupported_response_type_goes_back_to_the_client(browser, rp):
    browser.get(rp.authorize_url(response_type="token"))
    callback = rp.callback_params(browser.url)
    assert callback["error"] == "unsupported_response_type"
    assert callback["error_description"] == "Only response_type=code is supported (the authorization code flow with PKCE)."
    assert callback["state"] == rp.state and callback["iss"] == "http://localhost"


def test_an_unsupported_response_type_from_an_unknown_client_shows_what_is_wrong(browser, rp):
    browser.get(rp.authorize_url(response_type="token", client_id="tuntematon"))
    assert browser.page.status_code == 400
    assert "is not supported by the server. is not supported" not in browser.text  # Authlib's garbled sentence
    assert "Only response_type=code is supported" in browser.text


# RFC 6749 §5.2 allows no such character in an error_description, and Authlib, quoting the
# value in its own, failed making the error: a 500.
UNQUOTABLE = ['co"de', "code\\", "cöde", "code\n", "code\x00"]


@pytest.mark.parametrize("response_type", UNQUOTABLE)
def test_a_response_type_no_error_can_quote_goes_back_to_the_client(browser, rp, response_type, caplog):
    browser.get(rp.authorize_url(response_type=response_type))
    if "\x00" in response_type:  # refused as every request holding a control character is
        assert browser.page.status_code == 400 and "Location" not in browser.page.headers
    else:
        callback = rp.callback_params(browser.url)
        assert callback["error"] == "unsupported_response_type" and callback["state"] == rp.state
    assert "unhandled error" not in caplog.text


@pytest.mark.parametrize("response_type", UNQUOTABLE)
def test_a_response_type_no_error_can_quote_from_an_unknown_client_is_a_page(browser, response_type, caplog):
    response = _authorize(browser, response_type=response_type, client_id="tuntematon",
                          redirect_uri="https://rp.example/callback", scope="openid")
    assert response.status_code == 400 and "Location" not in response.headers
    assert "unhandled error" not in caplog.text


def test_a_pushed_response_type_no_error_can_quote_is_a_json_error(rp, caplog):
    response = rp.push(response_type='co"de')
    assert response.status_code == 400 and response.get_json()["error"] == "unsupported_response_type"
    assert "unhandled error" not in caplog.text


@pytest.mark.parametrize("response_type", [None, ""], ids=["left out", "empty"])
def test_a_missing_response_type_goes_back_to_the_client_as_invalid_request(browser, rp, response_type):
    # RFC 6749 §4.1.2.1: missing is invalid_request; unsupported_response_type is for a value.
    browser.get(rp.authorize_url(response_type=response_type))
    callback = rp.callback_params(browser.url)
    assert callback["error"] == "invalid_request"
    assert callback["error_description"] == "Missing 'response_type' parameter."
    assert callback["state"] == rp.state and callback["iss"] == "http://localhost"


def test_a_missing_response_type_is_invalid_request_at_par(rp):
    response = rp.push(response_type=None)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


def test_unknown_scope_values_are_ignored_and_the_granted_scope_says_so(browser, rp, user):
    tokens = tokens_for(browser, rp, user, scope="openid email address phone admin")
    assert tokens["scope"] == "openid email"
    assert rp.userinfo(tokens["access_token"]).get_json()["email"] == user.email


def test_repeated_parameter_is_refused(browser, rp):
    response = browser.client.get(rp.authorize_url() + "&scope=openid")
    assert response.status_code == 400
    assert "invalid_request" in response.get_data(as_text=True)


def test_oversized_parameter_is_a_clear_error_not_a_crash(browser, rp, user):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    browser.get(rp.authorize_url(nonce="n" * 5000))
    assert rp.callback_params(browser.url)["error"] == "invalid_request"


@pytest.mark.parametrize("max_age", ["abc", "-1", "1.5"])
def test_bad_max_age_is_invalid_request_with_nobody_signed_in(browser, rp, max_age):
    # Refused before anyone is asked to sign in, not only once a session exists.
    browser.get(rp.authorize_url(max_age=max_age))
    callback = rp.callback_params(browser.url)
    assert callback["error"] == "invalid_request" and callback["state"] == rp.state
    assert callback["error_description"] == "'max_age' must be a non-negative integer."


def test_bad_max_age_is_invalid_request(browser, rp, user):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    browser.get(rp.authorize_url(max_age="soon"))
    assert rp.callback_params(browser.url)["error"] == "invalid_request"


def test_authorization_request_may_be_posted(browser, rp, user):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    url = rp.authorize_url()
    params = dict(pair.split("=", 1) for pair in url.split("?", 1)[1].split("&"))
    from urllib.parse import unquote_plus

    response = browser.client.post("/authorize", data={k: unquote_plus(v) for k, v in params.items()})
    assert response.status_code == 200  # the consent page
    assert "Kirjasto" in response.get_data(as_text=True)


@pytest.mark.parametrize("param, value, error", [
    ("request", "eyJhbGciOiJub25lIn0.eyJtYXhfYWdlIjowfQ.", "request_not_supported"),
    ("request_uri", "https://rp.example/req.jwt", "request_uri_not_supported"),
])
def test_a_request_object_is_refused_not_ignored(browser, rp, user, param, value, error):
    # Ignoring it would drop what it asks for (here max_age=0) and answer as if it were not sent.
    authorize(browser, rp, user)
    browser.get(rp.authorize_url(**{param: value}))
    callback = rp.callback_params(browser.url)
    assert callback["error"] == error
    assert callback["state"] == rp.state and callback["iss"] == "http://localhost"


@pytest.mark.parametrize("mode", ["fragment", "form_post", "query.jwt"])
def test_a_response_mode_other_than_query_is_refused(browser, rp, user, mode):
    # The client would look for the code in the fragment or a posted form, not find it.
    authorize(browser, rp, user)
    browser.get(rp.authorize_url(response_mode=mode))
    callback = rp.callback_params(browser.url)
    assert callback["error"] == "invalid_request" and "response_mode" in callback["error_description"]
    assert callback["state"] == rp.state and "code" not in callback


def test_response_mode_query_is_the_default_said_aloud(browser, rp, user):
    authorize(browser, rp, user)
    browser.get(rp.authorize_url(response_mode="query"))
    assert "code" in rp.callback_params(browser.url)


def test_an_expired_consent_form_leads_back_to_the_consent_page(browser, rp, user):
    browser.get(rp.authorize_url())
    sign_in(browser, user.email, user.test_password)
    form = browser.form("/authorize/consent/")
    expired = browser.client.post(form["action"], data={"csrf_token": "expired", "decision": "allow"})
    assert expired.status_code == 400 and "The form expired" in expired.get_data(as_text=True)
    again = re.search(r'<a href="([^"]+)">Try again</a>', expired.get_data(as_text=True)).group(1)
    browser.get(again)
    assert "/authorize/consent/" in browser.text and "Kirjasto wants to use your Tunnus account" in browser.text
