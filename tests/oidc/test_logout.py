"""RP-Initiated Logout: the session ends, session-bound tokens die, redirects only to
registered post-logout URIs, with the client's state."""
from urllib.parse import parse_qs, urlencode, urlsplit

from idp.extensions import db
from idp.models import Token
from tests.support.journeys import authorize, tokens_for
from tests.support.rp import POST_LOGOUT_URI, RelyingParty


def _logout_url(**params):
    return "/logout?" + urlencode(params)


def test_logout_with_id_token_hint_ends_session_and_returns_to_client(browser, rp, user):
    tokens = tokens_for(browser, rp, user)
    browser.get(_logout_url(id_token_hint=tokens["id_token"], post_logout_redirect_uri=POST_LOGOUT_URI,
                            state="bye-123"))
    parts = urlsplit(browser.url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == POST_LOGOUT_URI
    assert parse_qs(parts.query)["state"] == ["bye-123"]

    browser.get(rp.authorize_url(prompt="none"))
    assert rp.callback_params(browser.url)["error"] == "login_required"
    assert rp.userinfo(tokens["access_token"]).status_code == 401
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_offline_access_tokens_survive_logout(browser, rp, user):
    tokens = tokens_for(browser, rp, user, scope="openid offline_access")
    browser.get(_logout_url(id_token_hint=tokens["id_token"]))
    assert "You have logged out" in browser.text
    assert rp.refresh(tokens["refresh_token"]).status_code == 200



def test_a_refresh_token_whose_session_ended_is_refused_even_if_left_unrevoked(app, browser, rp, user):
    """As a token request that raced the logout would have left it: only an offline one
    outlives its session."""
    online = tokens_for(browser, rp, user)
    offline = tokens_for(browser, rp, user, scope="openid offline_access")
    browser.get(_logout_url(id_token_hint=online["id_token"]))
    assert "You have logged out" in browser.text
    db.session.execute(db.update(Token).values(revoked_at=None))
    db.session.commit()

    refused = rp.refresh(online["refresh_token"])
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
    assert rp.refresh(offline["refresh_token"]).status_code == 200


def test_an_offline_grant_narrowed_on_refresh_still_survives_logout(browser, rp, user):
    tokens = tokens_for(browser, rp, user, scope="openid offline_access")
    narrow = rp.refresh(tokens["refresh_token"], scope="openid").get_json()
    browser.get(_logout_url(id_token_hint=tokens["id_token"]))
    assert "You have logged out" in browser.text
    assert rp.refresh(narrow["refresh_token"]).status_code == 200


def test_unregistered_post_logout_uri_is_never_redirected_to(browser, rp, user):
    tokens = tokens_for(browser, rp, user)
    browser.get(_logout_url(id_token_hint=tokens["id_token"], post_logout_redirect_uri="https://evil.example/"))
    assert browser.page.status_code == 200
    assert "You have logged out" in browser.text


def test_logout_without_hint_asks_for_confirmation(browser, rp, user):
    tokens_for(browser, rp, user)
    browser.get("/logout")
    assert "Do you want to log out?" in browser.text
    browser.submit("/logout", button=("confirm", "1"))
    assert "You have logged out" in browser.text
    browser.get(rp.authorize_url(prompt="none"))
    assert rp.callback_params(browser.url)["error"] == "login_required"


def _back_at(url, expected):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" == expected and parse_qs(parts.query)


def test_without_hint_the_client_named_gets_the_person_back_once_they_confirm(browser, rp, user):
    tokens_for(browser, rp, user)
    browser.get(_logout_url(client_id=rp.client_id, post_logout_redirect_uri=POST_LOGOUT_URI, state="s-7"))
    assert "Do you want to log out?" in browser.text and "Kirjasto asked to log you out." in browser.text
    browser.submit("/logout", button=("confirm", "1"), having="client_id")
    assert _back_at(browser.url, POST_LOGOUT_URI) == {"state": ["s-7"]}
    browser.get(rp.authorize_url(prompt="none"))
    assert rp.callback_params(browser.url)["error"] == "login_required"


def test_without_hint_a_signed_out_person_goes_straight_back(browser, rp):
    browser.get(_logout_url(client_id=rp.client_id, post_logout_redirect_uri=POST_LOGOUT_URI, state="s-8"))
    assert _back_at(browser.url, POST_LOGOUT_URI) == {"state": ["s-8"]}


def test_without_hint_an_unregistered_uri_is_never_redirected_to(browser, rp, user):
    tokens_for(browser, rp, user)
    browser.get(_logout_url(client_id=rp.client_id, post_logout_redirect_uri="https://evil.example/"))
    browser.submit("/logout", button=("confirm", "1"), having="client_id")
    assert browser.page.status_code == 200 and "You have logged out" in browser.text


def test_confirmation_without_csrf_token_does_not_log_out(browser, rp, user):
    tokens_for(browser, rp, user)
    response = browser.client.post("/logout", data={"confirm": "1"})
    assert "Do you want to log out?" in response.get_data(as_text=True)
    browser.get(rp.authorize_url(prompt="none"))
    assert "code" in rp.callback_params(browser.url)


def test_forged_id_token_hint_is_refused(browser, rp, user):
    tokens = tokens_for(browser, rp, user)
    header, payload, signature = tokens["id_token"].split(".")
    browser.get(_logout_url(id_token_hint=f"{header}.{payload}.{signature[::-1]}",
                            post_logout_redirect_uri=POST_LOGOUT_URI))
    assert browser.page.status_code == 400
    assert "invalid_request" in browser.text
    # Who came to log out still can, only not back to the service whose request failed.
    assert "You are still signed in to Tunnus." in browser.text and "Sign-in cannot continue" not in browser.text
    assert f'class="email">{user.email}</a>' in browser.text  # the page's header names who is signed in
    assert '<p class="technical" lang="en">' in browser.text  # the protocol's words are English
    browser.submit("/logout", button=("confirm", "1"))
    assert "You have logged out" in browser.text and not browser.url.startswith(POST_LOGOUT_URI)
    browser.get(rp.authorize_url(prompt="none"))
    assert rp.callback_params(browser.url)["error"] == "login_required"


def test_an_access_token_is_no_id_token_hint(browser, rp, user):
    tokens = tokens_for(browser, rp, user)
    browser.get(_logout_url(id_token_hint=tokens["access_token"], post_logout_redirect_uri=POST_LOGOUT_URI))
    assert browser.page.status_code == 400 and "invalid_request" in browser.text
    assert not browser.url.startswith(POST_LOGOUT_URI)
    assert rp.userinfo(tokens["access_token"]).status_code == 200


def test_logout_ends_the_hinted_session_even_without_the_browser_cookie(app, browser, rp, user):
    from tests.support.browser import Browser

    tokens = tokens_for(browser, rp, user)
    cookieless = Browser(app)
    cookieless.get(_logout_url(id_token_hint=tokens["id_token"], post_logout_redirect_uri=POST_LOGOUT_URI))
    assert cookieless.url.startswith(POST_LOGOUT_URI)
    assert rp.userinfo(tokens["access_token"]).status_code == 401
    browser.get(rp.authorize_url(prompt="none"))
    assert rp.callback_params(browser.url)["error"] == "login_required"


def test_a_code_issued_before_logout_is_not_redeemed_after_it(app, browser, rp, user):
    other = RelyingParty.register(app, name="Toinen", first_party=True)
    first = tokens_for(browser, other, user)
    callback = authorize(browser, rp, user)
    browser.get(_logout_url(id_token_hint=first["id_token"]))
    assert "You have logged out" in browser.text
    response = rp.redeem(callback["code"])
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
