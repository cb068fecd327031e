"""The `claims` request parameter (OIDC Core 1.0 §5.5): claims asked for by name come in
the ID token or from userinfo, as asked, besides the scope's; only with the person's
consent, only those the client may have; `value`, `values` and `sub` hold; refreshed
tokens keep them; a malformed one is invalid_request."""
import json

import pytest

from idp.extensions import db
from idp.models import AuditEvent, Consent
from tests.support.journeys import authorize, sign_in, tokens_for
from tests.support.orgs import organisation, person
from tests.support.rp import RelyingParty


def _ask(**places) -> str:
    return json.dumps(places)


def _id_token_and_userinfo(rp, body):
    return rp.verify_id_token(body["id_token"]), rp.userinfo(body["access_token"]).get_json()


PROTOCOL = {"iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "at_hash", "sub"}


def test_claim_asked_for_the_id_token_comes_there_only(browser, public_rp, user):
    body = tokens_for(browser, public_rp, user, scope="openid", claims=_ask(id_token={"email": None}))
    id_token, info = _id_token_and_userinfo(public_rp, body)
    assert set(id_token) - PROTOCOL == {"email"} and id_token["email"] == user.email
    assert info == {"sub": user.sub}


def test_claim_asked_for_userinfo_comes_from_there_only(browser, public_rp, user):
    body = tokens_for(browser, public_rp, user, scope="openid",
                      claims=_ask(userinfo={"name": {"essential": True}, "email_verified": None}))
    id_token, info = _id_token_and_userinfo(public_rp, body)
    assert info == {"sub": user.sub, "name": "Maija Meikäläinen", "email_verified": True}
    assert set(id_token) - PROTOCOL == set()


def test_claims_asked_for_come_besides_the_scopes(browser, public_rp, user):
    body = tokens_for(browser, public_rp, user, scope="openid email",
                      claims=_ask(id_token={"name": None}, userinfo={"updated_at": None}))
    id_token, info = _id_token_and_userinfo(public_rp, body)
    assert set(id_token) - PROTOCOL == {"email", "email_verified", "name"}
    assert set(info) == {"sub", "email", "email_verified", "updated_at"}


def test_refreshed_access_tokens_keep_the_userinfo_claims(browser, public_rp, user):
    body = tokens_for(browser, public_rp, user, scope="openid", claims=_ask(userinfo={"name": None}))
    for _ in range(2):
        body = public_rp.refresh(body["refresh_token"]).get_json()
        assert public_rp.userinfo(body["access_token"]).get_json() == {"sub": user.sub, "name": "Maija Meikäläinen"}


def test_claim_with_value_or_values_comes_only_when_the_person_has_it(browser, public_rp, user):
    asked = {"email": {"value": "someone.else@example.fi", "essential": True}, "email_verified": {"value": True},
             "name": {"values": ["Matti Meikäläinen", "Maija Meikäläinen"]}, "updated_at": {"values": [1]}}
    id_token = public_rp.verify_id_token(
        tokens_for(browser, public_rp, user, scope="openid", claims=_ask(id_token=asked))["id_token"])
    assert set(id_token) - PROTOCOL == {"email_verified", "name"}


def test_claims_tunnus_lacks_or_cannot_give_are_left_out_without_error(browser, public_rp, user):
    asked = {"phone_number": {"essential": True}, "locale": {"essential": True}, "legacy_ids": None,
             "auth_time": {"essential": True}}
    body = tokens_for(browser, public_rp, user, scope="openid",
                      claims=_ask(id_token=asked, userinfo=asked, other={"anything": None}))
    id_token, info = _id_token_and_userinfo(public_rp, body)
    assert set(id_token) - PROTOCOL == set() and id_token["auth_time"]
    assert info == {"sub": user.sub}


def test_claims_of_a_scope_the_client_may_not_have_are_not_given(browser, public_rp, user):
    public_rp.client.scope = "openid profile offline_access"
    db.session.commit()
    body = tokens_for(browser, public_rp, user, scope="openid",
                      claims=_ask(id_token={"email": None, "name": None}, userinfo={"email": {"essential": True}}))
    id_token, info = _id_token_and_userinfo(public_rp, body)
    assert set(id_token) - PROTOCOL == {"name"}
    assert info == {"sub": user.sub}


def test_claims_beyond_the_scope_are_consented_by_name_and_remembered(browser, rp, user):
    asked = _ask(userinfo={"email": None}, id_token={"locale": None})
    browser.get(rp.authorize_url(scope="openid", claims=asked))
    sign_in(browser, user.email, user.test_password)
    assert "Your email address" in browser.text and "Your preferred language" in browser.text
    assert "Your name" not in browser.text
    browser.submit("/authorize/consent/", button=("decision", "allow"))
    body = rp.redeem(rp.callback_params(browser.url)["code"]).get_json()
    assert rp.userinfo(body["access_token"]).get_json() == {"sub": user.sub, "email": user.email}
    assert db.session.execute(db.select(Consent.claims)).scalar() == "email locale"
    assert AuditEvent.query.filter_by(event="consent.granted").one().details["claims"] == ["email", "locale"]

    browser.get(rp.authorize_url(scope="openid", claims=asked))  # allowed before: not asked again
    assert "code" in rp.callback_params(browser.url)
    browser.get(rp.authorize_url(scope="openid", claims=_ask(id_token={"name": None})))
    assert "/authorize/consent/" in browser.text and "Your name" in browser.text


def test_claims_of_a_scope_consented_before_are_not_asked_again(browser, rp, user):
    authorize(browser, rp, user, scope="openid email")
    body = tokens_for(browser, rp, user, scope="openid", claims=_ask(id_token={"email": None}), prompt="none")
    assert rp.verify_id_token(body["id_token"])["email"] == user.email


def test_prompt_none_with_claims_not_consented_is_consent_required(browser, rp, user):
    authorize(browser, rp, user, scope="openid")
    browser.get(rp.authorize_url(scope="openid", claims=_ask(userinfo={"email": None}), prompt="none"))
    assert rp.callback_params(browser.url)["error"] == "consent_required"


def test_sub_named_in_claims_answers_only_for_that_person(app, browser, rp, user):
    other = person("toinen@example.fi")
    authorize(browser, rp, user)
    for_other = _ask(id_token={"sub": {"value": other.sub}})
    browser.get(rp.authorize_url(claims=for_other, prompt="none"))
    assert rp.callback_params(browser.url)["error"] == "login_required"

    browser.get(rp.authorize_url(claims=for_other))  # someone else is signed in: sign in again
    sign_in(browser, user.email, user.test_password)
    callback = rp.callback_params(browser.url)
    assert callback["error"] == "access_denied"
    assert callback["error_description"] == "The request's 'claims' name another person's 'sub'."

    browser.get(rp.authorize_url(claims=_ask(id_token={"sub": {"value": user.sub}})))
    assert "code" in rp.callback_params(browser.url)


def test_a_client_never_allowed_cannot_tell_who_is_signed_in_by_naming_a_sub(app, browser, rp, user):
    other = person("toinen@example.fi")
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)  # signed in here, but never allowed this client
    answers = []
    for sub in (user.sub, other.sub):
        browser.get(rp.authorize_url(claims=_ask(id_token={"sub": {"value": sub}}), prompt="none"))
        answers.append(rp.callback_params(browser.url)["error"])
    assert answers == ["consent_required", "consent_required"]


@pytest.mark.parametrize("claims", [
    _ask(userinfo=[]), _ask(id_token="email"), _ask(userinfo={"name": "yes"}), _ask(id_token={"email": []}),
    _ask(id_token={"email": {"essential": "true"}}), _ask(userinfo={"name": {"values": "Maija"}}),
    # Python reads these, and PostgreSQL's json refused to store them (before, a 500 there)
    '{"id_token": {"name": {"value": 1e309}}}', '{"id_token": {"name": {"value": NaN}}}',
    '{"userinfo": {"name": {"values": [-Infinity]}}}', "[" * 2000,
])
def test_malformed_claims_members_are_invalid_request(browser, rp, user, claims):
    authorize(browser, rp, user)
    browser.get(rp.authorize_url(claims=claims))
    callback = rp.callback_params(browser.url)
    assert callback["error"] == "invalid_request" and callback["state"] == rp.state
    assert callback["error_description"] == "'claims' must be a JSON object as in OpenID Connect Core section 5.5."


def test_claims_survive_login_organisation_choice_and_consent(app, browser):
    rp = RelyingParty.register(app, name="Raportit")
    rp.client.org_mode = "business"
    worker, boss = person("ville@siivous.fi"), person("pirjo@siivous.fi")
    alfa = organisation("Alfa Oy", "0737546-2", boss, [worker], rights=[(worker, rp.client)])
    beta = organisation("Beta Oy", "1572860-0", boss, [worker], rights=[(worker, rp.client)])
    browser.get(rp.authorize_url(scope="openid", claims=_ask(id_token={"org": {"essential": True}},
                                                             userinfo={"orgs": None})))
    sign_in(browser, worker.email, worker.test_password)
    browser.submit("/authorize/organisation/", organisation=str(beta.id), button=("decision", "choose"))
    assert "The organisation you act for, and your role in it" in browser.text
    assert "The organisations you act for, and your role in them" in browser.text
    browser.submit("/authorize/consent/", button=("decision", "allow"))
    body = rp.redeem(rp.callback_params(browser.url)["code"]).get_json()
    id_token, info = _id_token_and_userinfo(rp, body)
    assert id_token["org"]["id"] == str(beta.id) and "orgs" not in id_token
    assert [org["id"] for org in info["orgs"]] == [str(alfa.id), str(beta.id)] and "org" not in info


def test_discovery_says_the_claims_parameter_is_supported(rp):
    meta = rp.http.get("/.well-known/openid-configuration").get_json()
    assert meta["claims_parameter_supported"] is True
    assert {"name", "locale", "updated_at", "email", "email_verified", "org", "orgs", "acr"} <= set(
        meta["claims_supported"])
