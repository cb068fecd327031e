"""prompt=none|login|consent, max_age and id_token_hint decide when the user is asked again."""
from urllib.parse import urlsplit

from idp.extensions import db
from idp.models import Flow
from idp.services import clock
from tests.support.browser import Browser
from tests.support.journeys import authorize, sign_in, tokens_for
from tests.support.orgs import person


def test_prompt_none_without_session_returns_login_required(browser, rp):
    browser.get(rp.authorize_url(prompt="none"))
    callback = rp.callback_params(browser.url)
    assert callback["error"] == "login_required"
    assert callback["state"] == rp.state and callback["iss"] == "http://localhost"


def test_prompt_none_without_consent_returns_consent_required(browser, rp, user):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    browser.get(rp.authorize_url(prompt="none"))
    assert rp.callback_params(browser.url)["error"] == "consent_required"


def test_prompt_none_with_session_and_consent_returns_a_code_silently(browser, rp, user):
    authorize(browser, rp, user)
    browser.get(rp.authorize_url(prompt="none"))
    assert "code" in rp.callback_params(browser.url)


def test_prompt_login_asks_for_the_password_again(browser, rp, user):
    first = rp.verify_id_token(rp.redeem(authorize(browser, rp, user)["code"]).get_json()["id_token"])
    clock.advance(5)
    browser.get(rp.authorize_url(prompt="login"), follow=False)
    assert "login_hint" not in browser.page.headers["Location"]  # the address stays out of URLs
    browser.get(browser.page.headers["Location"])
    # Straight to the password of the account signed in: its address is not typed again.
    assert f'data-testid="login-email">{user.email}<' in browser.text and 'name="email"' not in browser.text
    browser.submit("/password", password=user.test_password)
    second = rp.verify_id_token(rp.redeem(rp.callback_params(browser.url)["code"]).get_json()["id_token"])
    assert second["auth_time"] >= first["auth_time"] + 5


def _resume_path(browser, url) -> str:
    """Open the authorization request; the resume link of its pending flow (where the login
    it leads to returns)."""
    browser.get(url)
    flow_id = urlsplit(browser.url).path.split("/")[2]
    return db.session.get(Flow, flow_id).data["return_to"]


def test_an_answered_authorization_cannot_be_resumed_for_another_code(browser, rp, user):
    authorize(browser, rp, user)
    resume = _resume_path(browser, rp.authorize_url(prompt="login"))
    sign_in(browser, user.email, user.test_password)
    assert "code" in rp.callback_params(browser.url)
    clock.advance(20 * 60)
    browser.get(resume)
    assert browser.page.status_code == 410 and "expired" in browser.text


def test_a_denied_authorization_cannot_be_resumed(browser, rp, user):
    resume = _resume_path(browser, rp.authorize_url())
    sign_in(browser, user.email, user.test_password)
    browser.submit("/authorize/consent/", button=("decision", "deny"))
    assert rp.callback_params(browser.url)["error"] == "access_denied"
    browser.get(resume)
    assert browser.page.status_code == 410


def test_max_age_forces_login_when_the_session_is_older(browser, rp, user):
    authorize(browser, rp, user)
    clock.advance(120)
    browser.get(rp.authorize_url(max_age="60"))
    assert "/login/" in browser.url and f'data-testid="login-email">{user.email}<' in browser.text
    browser.submit("/password", password=user.test_password)
    claims = rp.verify_id_token(rp.redeem(rp.callback_params(browser.url)["code"]).get_json()["id_token"])
    assert claims["iat"] - claims["auth_time"] <= 60


def test_max_age_zero_is_met_by_the_login_it_asked_for_even_after_a_while_on_the_consent_page(browser, rp, user):
    browser.get(rp.authorize_url(max_age="0"))
    sign_in(browser, user.email, user.test_password)
    clock.advance(120)  # reading what the service asks for
    browser.submit("/authorize/consent/", button=("decision", "allow"))
    claims = rp.verify_id_token(rp.redeem(rp.callback_params(browser.url)["code"]).get_json()["id_token"])
    assert 120 <= claims["iat"] - claims["auth_time"] <= 130  # the login made for it, a second or so on a slow host


def test_a_consent_page_left_open_past_max_age_asks_to_sign_in_again(browser, rp, user):
    """Before, the login made for the request met max_age for good: a service asking for
    max_age=60 got a login ten minutes old."""
    browser.get(rp.authorize_url(max_age="60"))
    sign_in(browser, user.email, user.test_password)
    clock.advance(600)
    browser.submit("/authorize/consent/", button=("decision", "allow"))
    assert "/login/" in browser.url and f'data-testid="login-email">{user.email}<' in browser.text
    browser.submit("/password", password=user.test_password)
    claims = rp.verify_id_token(rp.redeem(rp.callback_params(browser.url)["code"]).get_json()["id_token"])
    assert claims["iat"] - claims["auth_time"] <= 60


def test_signing_in_again_to_choose_the_account_asks_for_the_address(browser, rp, user):
    authorize(browser, rp, user)
    browser.get(rp.authorize_url(prompt="login select_account"))
    assert 'name="email"' in browser.text and 'data-testid="login-email"' not in browser.text


def test_max_age_within_the_limit_does_not_ask_again(browser, rp, user):
    authorize(browser, rp, user)
    clock.advance(30)
    browser.get(rp.authorize_url(max_age="600"))
    assert "code" in rp.callback_params(browser.url)


def test_prompt_consent_asks_even_after_consent_was_given(browser, rp, user):
    authorize(browser, rp, user)
    browser.get(rp.authorize_url(prompt="consent"))
    assert "/authorize/consent/" in browser.text


def test_prompt_none_with_another_value_is_invalid(browser, rp, user):
    authorize(browser, rp, user)
    browser.get(rp.authorize_url(prompt="none login"))
    assert rp.callback_params(browser.url)["error"] == "invalid_request"


def test_signing_in_again_renews_the_same_session(browser, rp, user):
    first = rp.verify_id_token(rp.redeem(authorize(browser, rp, user)["code"]).get_json()["id_token"])
    clock.advance(5)
    browser.get(rp.authorize_url(prompt="login"))
    sign_in(browser, user.email, user.test_password)
    second = rp.verify_id_token(rp.redeem(rp.callback_params(browser.url)["code"]).get_json()["id_token"])
    assert second["sid"] == first["sid"] and second["auth_time"] > first["auth_time"]


def test_another_person_signing_in_ends_the_previous_session(app, browser, rp, user):
    from idp.services import identities

    tokens = rp.redeem(authorize(browser, rp, user)["code"]).get_json()
    identities.create("toinen@example.fi", "toinen pitkä salasana", "Toinen", verified=True)
    browser.get(rp.authorize_url(prompt="login"))
    sign_in(browser, "toinen@example.fi", "toinen pitkä salasana", switching=True)
    assert rp.userinfo(tokens["access_token"]).status_code == 401  # the first person's session ended


def _hint_for_someone_else(app, browser, rp, user):
    """An ID token the relying service got for `user`, while another person is signed in here."""
    hint = tokens_for(Browser(app), rp, user)["id_token"]
    authorize(browser, rp, person("toinen@example.fi"))
    return hint


def test_prompt_none_with_a_hint_for_someone_else_returns_login_required(app, browser, rp, user):
    hint = _hint_for_someone_else(app, browser, rp, user)
    browser.get(rp.authorize_url(prompt="none", id_token_hint=hint))
    callback = rp.callback_params(browser.url)
    assert callback["error"] == "login_required"
    assert callback["state"] == rp.state and callback["iss"] == "http://localhost"


def test_a_hint_for_someone_else_asks_to_sign_in(app, browser, rp, user):
    hint = _hint_for_someone_else(app, browser, rp, user)
    browser.get(rp.authorize_url(id_token_hint=hint))
    assert "/login/" in browser.url and 'name="email"' in browser.text  # not the other person's password step
    sign_in(browser, user.email, user.test_password)
    claims = rp.verify_id_token(rp.redeem(rp.callback_params(browser.url)["code"]).get_json()["id_token"])
    assert claims["sub"] == user.sub


def test_an_expired_hint_for_the_signed_in_person_still_serves(app, browser, rp, user):
    hint = tokens_for(browser, rp, user)["id_token"]
    clock.advance(app.config["IDP_ID_TOKEN_TTL"] + 60)
    browser.get(rp.authorize_url(prompt="none", id_token_hint=hint))
    assert "code" in rp.callback_params(browser.url)


def test_a_hint_tunnus_did_not_issue_is_invalid_request(browser, rp, user):
    tokens = tokens_for(browser, rp, user)
    header, claims, _ = tokens["id_token"].split(".")
    for hint in (f"{header}.{claims}.", tokens["access_token"]):  # unsigned; an access token
        browser.get(rp.authorize_url(prompt="none", id_token_hint=hint))
        assert rp.callback_params(browser.url)["error"] == "invalid_request"


def test_an_id_token_with_many_organisations_comes_back_as_id_token_hint(app, browser):
    """Tunnus takes back any ID token it issued (OIDC Core §3.1.2.1): before, one over 2048
    characters (a bookkeeper of seven companies) was "Parameter 'id_token_hint' is too long"."""
    from tests.support.orgs import organisation
    from tests.support.rp import RelyingParty

    rp = RelyingParty.register(app, name="Raportit", first_party=True)
    rp.client.org_mode = "business"
    worker, boss = person("kirjanpitaja@tilitoimisto.fi", "Päivi Määttä-Härkönen"), person("pomo@tilitoimisto.fi")
    orgs = [organisation(f"Kiinteistö Oy Jyväskylän Väinönkatu {n} ja Pöllönpesä", _business_id(1234560 + n * 7),
                         boss, [worker], rights=[(worker, rp.client)]) for n in range(7)]
    db.session.commit()
    scope, org_id = "openid email profile organizations", str(orgs[0].id)
    browser.get(rp.authorize_url(scope=scope, org_id=org_id))
    sign_in(browser, worker.email, worker.test_password)
    id_token = rp.redeem(rp.callback_params(browser.url)["code"]).get_json()["id_token"]
    assert len(id_token) > 2048
    browser.get(rp.authorize_url(scope=scope, org_id=org_id, prompt="none", id_token_hint=id_token))
    assert "code" in rp.callback_params(browser.url)


def _business_id(number: int) -> str:
    """A Finnish business ID (Y-tunnus) with its check digit."""
    digits = f"{number:07d}"
    total = sum(int(d) * w for d, w in zip(digits, (7, 9, 10, 5, 8, 4, 2))) % 11
    return f"{digits}-{0 if total == 0 else 11 - total}" if total != 1 else _business_id(number + 1)
