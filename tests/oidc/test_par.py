"""Pushed authorization requests (RFC 9126): a relying service posts its request to /par,
authenticated as at /token, and sends the browser to /authorize with the request_uri it
got; from there the journey is an ordinary one."""
from __future__ import annotations

import json
import re

import pytest

from idp.extensions import db
from idp.models import AuditEvent, Client, PushedRequest
from idp.oidc import pushed_requests
from idp.services import clients, clock
from tests.support.browser import Browser
from tests.support.journeys import authorize, sign_in, signed_in, tokens_for
from tests.support.orgs import organisation, person
from tests.support.races import at_once, barrier_after, clone, row_locks
from tests.support.rp import REDIRECT_URI, RelyingParty

PREFIX = "urn:ietf:params:oauth:request_uri:"


def _pushed(rp, **params) -> str:
    response = rp.push(**params)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["request_uri"]


def _refusal_page(browser) -> str:
    assert browser.page.status_code == 400 and "Location" not in browser.page.headers
    return re.search(r'data-testid="oauth-error">([^<]+)<', browser.text).group(1)


def test_a_pushed_request_signs_the_person_in_and_ends_with_tokens(browser, rp, user):
    callback = authorize(browser, rp, user, pushed=True, state="pushed-state")
    assert callback["state"] == "pushed-state" and callback["iss"] == "http://localhost"
    tokens = rp.redeem(callback["code"]).get_json()
    assert rp.verify_id_token(tokens["id_token"])["nonce"] == rp.nonce
    assert rp.userinfo(tokens["access_token"]).get_json()["email"] == user.email


def test_par_answers_201_with_a_fresh_reference_that_must_not_be_cached(rp):
    first, second = rp.push(), rp.push()
    assert first.status_code == 201 and set(first.get_json()) == {"request_uri", "expires_in"}
    assert first.get_json()["expires_in"] == 60
    assert "no-store" in first.headers["Cache-Control"]
    references = [answer.get_json()["request_uri"] for answer in (first, second)]
    assert all(reference.startswith(PREFIX) for reference in references) and references[0] != references[1]
    assert all(len(reference) - len(PREFIX) >= 22 for reference in references)  # ≥ 128 bits, base64url
    stored = json.dumps([[row.reference_hash, row.params] for row in db.session.query(PushedRequest)])
    assert not any(reference[len(PREFIX):] in stored for reference in references)  # a hash only


@pytest.mark.parametrize("params, error", [
    ({"redirect_uri": "https://rp.example/elsewhere"}, "invalid_request"),
    ({"redirect_uri": None}, "invalid_request"),
    ({"pkce": False}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"prompt": "none login"}, "invalid_request"),
    ({"claims": "[]"}, "invalid_request"),
    ({"max_age": "-1"}, "invalid_request"),
    ({"response_mode": "fragment"}, "invalid_request"),
    ({"request": "eyJhbGciOiJub25lIn0.eyJtYXhfYWdlIjowfQ."}, "request_not_supported"),
    ({"request_uri": PREFIX + "pushed-before"}, "invalid_request"),
    ({"id_token_hint": "not-a-token"}, "invalid_request"),
], ids=["unregistered redirect_uri", "no redirect_uri", "no PKCE", "plain PKCE", "response_type token",
        "prompt none and login", "claims not an object", "negative max_age", "response_mode fragment",
        "request object", "request_uri", "foreign id_token_hint"])
def test_a_bad_request_is_refused_in_json_and_never_kept(rp, params, error):
    response = rp.push(**params)
    assert response.status_code == 400 and response.get_json()["error"] == error, response.get_json()
    assert "Location" not in response.headers and "state" not in response.get_json()
    assert db.session.query(PushedRequest).count() == 0


def test_par_authenticates_the_client_as_the_token_endpoint_does(app, rp):
    assert rp.push(auth="post").status_code == 201
    for refused in (RelyingParty(app, rp.client, "wrong secret").push(),
                    RelyingParty(app, rp.client, None).push()):  # a confidential client's client_id alone
        assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"
    other = RelyingParty.register(app, name="Toinen")
    response = rp.push(client_id=other.client_id)  # Basic as rp, the request in the other's name
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


def test_a_public_client_pushes_with_its_client_id_and_pkce(browser, public_rp, user):
    assert public_rp.push(pkce=False).get_json()["error"] == "invalid_request"
    tokens = tokens_for(browser, public_rp, user, pushed=True)
    assert public_rp.verify_id_token(tokens["id_token"])["nonce"] == public_rp.nonce


def test_a_request_uri_is_used_once(app, browser, rp, user):
    request_uri = _pushed(rp)
    browser.get(rp.pushed_url(request_uri))
    sign_in(browser, user.email, user.test_password)
    browser.submit("/authorize/consent/", button=("decision", "allow"))
    assert "code" in rp.callback_params(browser.url)

    for again in (browser, signed_in(app, user)):  # the same browser, or one signed in elsewhere
        again.get(rp.pushed_url(request_uri))
        assert _refusal_page(again) == "invalid_request_uri"
        assert "has expired or has already been used. Go back to the service and sign in again." in again.text
    refused = AuditEvent.query.filter_by(event="authorize.request_uri_refused", result="failure").all()
    assert [event.client_id for event in refused] == [rp.client_id] * 2


def test_an_expired_request_uri_is_refused(browser, rp):
    request_uri = _pushed(rp)
    clock.advance(61)
    browser.get(rp.pushed_url(request_uri))
    assert _refusal_page(browser) == "invalid_request_uri" and "expired" in browser.text


def test_another_clients_request_uri_is_refused_and_stays_its_own(app, browser, rp, user):
    request_uri = _pushed(rp)
    other = RelyingParty.register(app, name="Toinen")
    browser.get(other.pushed_url(request_uri))
    assert _refusal_page(browser) == "invalid_request_uri"
    browser.get(rp.pushed_url(request_uri))
    assert 'name="email"' in browser.text  # the service that pushed it still can


def test_parameters_beside_the_request_uri_are_ignored(app, browser, user):
    second_uri = "https://rp.example/other"
    rp = RelyingParty(app, *clients.create("Kirjasto", [REDIRECT_URI, second_uri]))
    request_uri = _pushed(rp, state="pushed-state", scope="openid")
    browser.get(rp.pushed_url(request_uri, redirect_uri=second_uri, state="forged", scope="openid email",
                              prompt="none", code_challenge="A" * 43))
    sign_in(browser, user.email, user.test_password)  # prompt=none beside it would have answered login_required
    assert "Your email address" not in browser.text
    browser.submit("/authorize/consent/", button=("decision", "allow"))
    callback = rp.callback_params(browser.url)  # REDIRECT_URI, not second_uri
    assert callback["state"] == "pushed-state"
    tokens = rp.redeem(callback["code"])  # the pushed code_challenge holds
    assert tokens.status_code == 200 and tokens.get_json()["scope"] == "openid"


def test_a_client_that_must_push_is_refused_a_plain_request_until_told_otherwise(app, browser, rp, user, runner):
    created = runner.invoke(args=["clients", "create", "--name", "Pankki", "--redirect-uri", REDIRECT_URI,
                                  "--require-par", "--json"])
    assert created.exit_code == 0, created.output
    made = json.loads(created.output)
    assert made["require_pushed_authorization_requests"] is True
    bank = RelyingParty(app, Client.by_client_id(made["client_id"]), made["client_secret"])

    refused = authorize(browser, bank, user)
    assert refused["error"] == "invalid_request" and "pushed" in refused["error_description"]
    assert refused["state"] == bank.state
    assert "code" in authorize(browser, bank, user, pushed=True)

    changed = runner.invoke(args=["clients", "require-par", "--client-id", bank.client_id, "--off"])
    assert changed.exit_code == 0, changed.output
    assert "code" in authorize(browser, bank, user)
    assert runner.invoke(args=["clients", "require-par", "--client-id", bank.client_id]).exit_code == 0
    assert authorize(browser, bank, user)["error"] == "invalid_request"


@row_locks
def test_one_request_uri_used_twice_at_once_answers_once(app, browser, rp, monkeypatch):
    request_uri = _pushed(rp)
    browser.get("/login")  # the browser's cookie, which both requests carry (a double click)
    barrier_after(monkeypatch, pushed_requests, "take")
    first, second = at_once(*[lambda: clone(app, browser).get(rp.pushed_url(request_uri))] * 2)
    assert sorted([first.status_code, second.status_code]) == [302, 400]
    assert db.session.query(PushedRequest).count() == 0


def test_a_pushed_request_keeps_its_place_across_a_language_switch(app, rp, user):
    browser = signed_in(app, user)
    browser.get(rp.pushed_url(_pushed(rp)))
    assert "/authorize/resume/" in browser.url and "/authorize/consent/" in browser.text
    href = re.search(r'<a href="([^"]+)" lang="sv">Svenska</a>', browser.text).group(1)
    browser.get(href.replace("&amp;", "&"))
    assert '<html lang="sv">' in browser.text and "/authorize/consent/" in browser.text
    browser.submit("/authorize/consent/", button=("decision", "allow"))
    assert "code" in rp.callback_params(browser.url)


def test_a_pushed_request_lets_the_person_choose_the_organisation(app, browser):
    rp = RelyingParty.register(app, name="Yrityspalvelu", first_party=True)
    rp.client.org_mode = "business"
    db.session.commit()
    worker, boss = person("tyontekija@example.fi"), person("pomo@example.fi")
    organisation("Alfa Oy", "0737546-2", boss, [worker], rights=[(worker, rp.client)])
    beta = organisation("Beta Oy", "1572860-0", boss, [worker], rights=[(worker, rp.client)])
    browser.get(rp.pushed_url(_pushed(rp, scope="openid organizations")))
    sign_in(browser, worker.email, worker.test_password)
    browser.submit("/authorize/organisation/", organisation=str(beta.id), button=("decision", "choose"))
    tokens = rp.redeem(rp.callback_params(browser.url)["code"]).get_json()
    assert rp.verify_id_token(tokens["id_token"])["org"]["name"] == "Beta Oy"


def test_try_again_after_a_pushed_request_expired_starts_it_again_without_its_request_uri(app, browser, user):
    bank = RelyingParty(app, *clients.create("Pankki", [REDIRECT_URI], require_par=True))
    browser.get(bank.pushed_url(_pushed(bank, state="kept-state")))
    browser.submit("/identify", email=user.email)
    clock.advance(app.config["IDP_FLOW_TTL"] + 1)

    browser.submit("/password", password=user.test_password)
    assert browser.page.status_code == 410
    again = re.search(r'<a href="([^"]+)">Try again</a>', browser.text).group(1)
    browser.get(again)  # no plain request (refused for this client), no used request_uri
    assert browser.page.status_code == 200 and 'name="email"' in browser.text
    sign_in(browser, user.email, user.test_password)
    browser.submit("/authorize/consent/", button=("decision", "allow"))
    callback = bank.callback_params(browser.url)
    assert callback["state"] == "kept-state" and bank.redeem(callback["code"]).status_code == 200


def test_an_expired_pushed_request_starts_again_only_in_its_own_browser(app, browser, rp, user):
    browser.get(rp.pushed_url(_pushed(rp)))
    pending = browser.url.rsplit("/", 1)[1]
    clock.advance(app.config["IDP_FLOW_TTL"] + 1)
    stranger = Browser(app)
    stranger.get(f"/authorize/again/{pending}")
    assert stranger.page.status_code == 404


def test_discovery_names_the_par_endpoint(rp):
    metadata = rp.http.get("/.well-known/openid-configuration").get_json()
    assert metadata["pushed_authorization_request_endpoint"] == "http://localhost/par"
    assert metadata["require_pushed_authorization_requests"] is False


def test_prune_deletes_pushed_requests_nobody_used(runner, rp):
    _pushed(rp)
    clock.advance(2 * 24 * 3600)
    _pushed(rp)
    pruned = json.loads(runner.invoke(args=["prune", "--json"]).output)
    assert pruned["pushed_requests"] == 1 and db.session.query(PushedRequest).count() == 1
