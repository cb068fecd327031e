"""prompt=select_account (OIDC Core §3.1.2.1) for a service where people act for
themselves: the person confirms the account signed in here, or signs in with another."""
from idp.services import identities
from tests.support.journeys import authorize, sign_in


def _second_person():
    person = identities.create("ville.virtanen@example.fi", "toinen hyvä salasana", "Ville Virtanen", verified=True)
    person.test_password = "toinen hyvä salasana"
    return person


def test_the_person_confirms_the_account_signed_in_here(browser, rp, user):
    authorize(browser, rp, user)
    browser.get(rp.authorize_url(prompt="select_account"))
    assert "Choose an account" in browser.text and f"Continue as {user.email}" in browser.text
    browser.submit("/authorize/account/", button=("account", "this"))
    claims = rp.verify_id_token(rp.redeem(rp.callback_params(browser.url)["code"]).get_json()["id_token"])
    assert claims["sub"] == user.sub


def test_another_account_signs_in_and_answers_the_request(browser, rp, user):
    other = _second_person()
    authorize(browser, rp, user)
    browser.get(rp.authorize_url(prompt="select_account"))
    browser.submit("/authorize/account/", button=("account", "other"))
    assert 'name="email"' in browser.text
    sign_in(browser, other.email, other.test_password)
    if "/authorize/consent/" in browser.text:
        browser.submit("/authorize/consent/", button=("decision", "allow"))
    claims = rp.verify_id_token(rp.redeem(rp.callback_params(browser.url)["code"]).get_json()["id_token"])
    assert claims["sub"] == other.sub


def test_a_sign_in_made_for_the_request_is_not_asked_about_again(browser, rp, user):
    callback = authorize(browser, rp, user, prompt="select_account")
    assert "code" in callback and "Choose an account" not in browser.text


def test_without_the_prompt_nobody_is_asked(browser, rp, user):
    authorize(browser, rp, user)
    browser.get(rp.authorize_url())
    assert "code" in rp.callback_params(browser.url)


def test_an_answer_posted_after_the_browser_signed_in_as_someone_else_is_not_theirs(app, browser, rp, user):
    """The consent page shown to one person, answered once another has signed in (another
    tab): signing in renews the form token, so the old page's answer is refused."""
    from idp.models import Consent

    browser.get(rp.authorize_url())
    sign_in(browser, user.email, user.test_password)
    shown = browser.form("/authorize/consent/")
    other = _second_person()
    browser.get("/login")
    sign_in(browser, other.email, other.test_password)
    browser.client.post(shown["action"], data={**shown["fields"], "decision": "allow"})
    answer = browser.get(shown["action"].replace("/consent/", "/resume/"))
    assert "/authorize/consent/" in answer.get_data(as_text=True)  # asked again, of the person here now
    assert Consent.query.filter_by(identity_id=other.id).count() == 0
