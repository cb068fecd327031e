"""DPoP (RFC 9449): tokens bound to the key of the client's proofs, at /token, /userinfo,
/introspect, and the code bound with `dpop_jkt`."""
import json
from urllib.parse import parse_qsl, urlsplit

import pytest
from joserfc import jwt

from idp.extensions import db
from idp.models import AuditEvent, Client
from idp.services import clock
from tests.support.journeys import authorize
from tests.support.rp import DPoPKey, RelyingParty


@pytest.fixture
def key():
    return DPoPKey()


@pytest.fixture
def machine(app):
    return RelyingParty.register(app, name="Integraatio", grant_types=["client_credentials"])


def _claims(rp, access_token) -> dict:
    return jwt.decode(access_token, rp.jwks(), algorithms=["ES256"]).claims


def _tokens(browser, rp, user, key, **params) -> dict:
    response = rp.redeem(authorize(browser, rp, user, **params)["code"], dpop=key)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _bearer_token(browser, rp, user) -> str:
    tokens = rp.redeem(authorize(browser, rp, user)["code"]).get_json()
    assert tokens["token_type"] == "Bearer" and "cnf" not in _claims(rp, tokens["access_token"])
    return tokens["access_token"]


def test_a_code_redeemed_with_a_proof_gives_a_dpop_token_bound_to_the_key(browser, public_rp, user, key):
    tokens = _tokens(browser, public_rp, user, key)
    assert tokens["token_type"] == "DPoP"
    assert _claims(public_rp, tokens["access_token"])["cnf"] == {"jkt": key.jkt}

    info = public_rp.userinfo(tokens["access_token"], dpop=key)
    assert info.status_code == 200 and info.get_json()["sub"] == user.sub


def test_a_bound_token_sent_as_bearer_is_refused(browser, public_rp, user, key):
    tokens = _tokens(browser, public_rp, user, key)
    for refused in (public_rp.userinfo(tokens["access_token"]),
                    public_rp.http.post("/userinfo", data={"access_token": tokens["access_token"]})):
        assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_token"
        challenges = refused.headers.getlist("WWW-Authenticate")
        assert challenges[0].startswith('Bearer error="invalid_token"')
        assert challenges[1] == 'DPoP algs="ES256 ES384 EdDSA Ed25519"'
    assert AuditEvent.query.filter_by(event="token.dpop_key_mismatch").count() == 2


def test_a_bearer_token_sent_with_the_dpop_scheme_is_refused(browser, public_rp, user, key):
    access_token = _bearer_token(browser, public_rp, user)
    refused = public_rp.userinfo(access_token, dpop=key)
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_token"
    assert refused.headers["WWW-Authenticate"].startswith('DPoP error="invalid_token"')
    assert public_rp.userinfo(access_token).status_code == 200


def test_a_proof_by_another_key_opens_no_userinfo(browser, public_rp, user, key):
    tokens = _tokens(browser, public_rp, user, key)
    refused = public_rp.userinfo(tokens["access_token"], dpop=DPoPKey())
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_token"
    assert refused.get_json()["error_description"] == "The DPoP proof is not made with the key the token is bound to."
    assert [e.details["bound"] for e in AuditEvent.query.filter_by(event="token.dpop_key_mismatch")] == ["access token"]


@pytest.mark.parametrize("ath", [None, "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"])
def test_userinfo_wants_the_hash_of_the_token_in_the_proof(browser, public_rp, user, key, ath):
    tokens = _tokens(browser, public_rp, user, key)
    proof = key.proof("GET", "http://localhost/userinfo", ath=ath)
    refused = public_rp.http.get("/userinfo", headers={"Authorization": f"DPoP {tokens['access_token']}",
                                                       "DPoP": proof})
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_dpop_proof"
    assert refused.headers.getlist("WWW-Authenticate") == [
        'DPoP error="invalid_dpop_proof", error_description="The DPoP proof\'s ath must be the hash of the access '
        'token sent with it.", algs="ES256 ES384 EdDSA Ed25519"']


def test_a_proof_sent_again_to_userinfo_is_refused(browser, public_rp, user, key):
    access_token = _tokens(browser, public_rp, user, key)["access_token"]
    headers = {"Authorization": f"DPoP {access_token}",
               "DPoP": key.proof("GET", "http://localhost/userinfo", access_token=access_token)}
    assert public_rp.http.get("/userinfo", headers=headers).status_code == 200
    again = public_rp.http.get("/userinfo", headers=headers)
    assert again.status_code == 401 and again.get_json()["error"] == "invalid_dpop_proof"


def test_userinfo_without_a_token_offers_both_schemes(public_rp):
    response = public_rp.http.get("/userinfo")
    assert response.status_code == 401
    assert response.headers.getlist("WWW-Authenticate") == ["Bearer", 'DPoP algs="ES256 ES384 EdDSA Ed25519"']


def test_a_public_clients_refresh_token_is_bound_to_the_key_and_still_rotates(browser, public_rp, user, key):
    first = _tokens(browser, public_rp, user, key)

    another = public_rp.refresh(first["refresh_token"], dpop=DPoPKey())
    assert another.status_code == 400 and another.get_json()["error"] == "invalid_grant"
    assert AuditEvent.query.filter_by(event="token.dpop_key_mismatch").count() == 1
    without = public_rp.refresh(first["refresh_token"])
    assert without.status_code == 400 and without.get_json()["error"] == "invalid_dpop_proof"

    second = public_rp.refresh(first["refresh_token"], dpop=key)
    assert second.status_code == 200 and second.get_json()["token_type"] == "DPoP"
    second = second.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert _claims(public_rp, second["access_token"])["cnf"] == {"jkt": key.jkt}
    assert public_rp.refresh(first["refresh_token"], dpop=key).get_json()["error"] == "invalid_grant"


def test_a_confidential_clients_refresh_token_is_bound_by_its_secret_not_the_key(browser, rp, user, key):
    first = _tokens(browser, rp, user, key)
    assert first["token_type"] == "DPoP"
    info = rp.introspect(first["access_token"]).get_json()
    assert info["token_type"] == "DPoP" and info["cnf"] == {"jkt": key.jkt}
    assert "cnf" not in rp.introspect(first["refresh_token"]).get_json()

    refreshed = rp.refresh(first["refresh_token"])  # RFC 9449 §5: another key, or none, may refresh
    assert refreshed.status_code == 200 and refreshed.get_json()["token_type"] == "Bearer"
    assert rp.introspect(refreshed.get_json()["access_token"]).get_json()["token_type"] == "Bearer"


def test_dpop_jkt_binds_the_code_to_the_key(browser, public_rp, user, key):
    code = authorize(browser, public_rp, user, dpop_jkt=key.jkt)["code"]

    without = public_rp.redeem(code)
    assert without.status_code == 400 and without.get_json()["error"] == "invalid_dpop_proof"
    another = public_rp.redeem(code, dpop=DPoPKey())
    assert another.status_code == 400 and another.get_json()["error"] == "invalid_grant"
    redeemed = public_rp.redeem(code, dpop=key)  # the refusals did not use the code up
    assert redeemed.status_code == 200 and redeemed.get_json()["token_type"] == "DPoP"


def test_a_malformed_dpop_jkt_goes_back_as_invalid_request(browser, public_rp, user):
    browser.get(public_rp.authorize_url(dpop_jkt="not-a-thumbprint"))
    callback = public_rp.callback_params(browser.url)
    assert callback["error"] == "invalid_request" and "dpop_jkt" in callback["error_description"]


def test_a_client_registered_for_dpop_is_refused_without_a_proof(app, runner, browser, user, key):
    created = runner.invoke(args=["clients", "create", "--name", "Sovellus", "--redirect-uri",
                                  "https://rp.example/callback", "--public", "--first-party", "--dpop-required",
                                  "--json"])
    assert created.exit_code == 0, created.output
    client_id = json.loads(created.output)["client_id"]
    assert json.loads(created.output)["dpop_bound_access_tokens"] is True
    rp = RelyingParty(app, Client.by_client_id(client_id), None)

    code = authorize(browser, rp, user)["code"]
    refused = rp.redeem(code)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_dpop_proof"
    assert rp.redeem(code, dpop=key).get_json()["token_type"] == "DPoP"

    changed = runner.invoke(args=["clients", "dpop", "--client-id", client_id, "--optional", "--json"])
    assert changed.exit_code == 0 and json.loads(changed.output)["dpop_bound_access_tokens"] is False
    clock.advance(app.config["IDP_CLIENT_CACHE_SECONDS"] + 1)  # other processes see it within that
    assert rp.redeem(authorize(browser, rp, user)["code"]).get_json()["token_type"] == "Bearer"


def test_client_credentials_with_a_proof_gives_a_bound_token(machine, key):
    assert machine.token_request(grant_type="client_credentials").status_code == 200  # the client is cached now
    response = machine.token_request(grant_type="client_credentials", dpop=key)
    assert response.status_code == 200 and response.get_json()["token_type"] == "DPoP"
    access_token = response.get_json()["access_token"]
    assert _claims(machine, access_token)["cnf"] == {"jkt": key.jkt}
    info = machine.introspect(access_token).get_json()
    assert info["active"] is True and info["token_type"] == "DPoP" and info["cnf"] == {"jkt": key.jkt}


def test_a_proof_is_accepted_once(machine, key):
    proof = key.proof("POST", "http://localhost/token")
    first = machine.http.post("/token", data={"grant_type": "client_credentials"},
                              headers={**machine.basic_auth(), "DPoP": proof})
    assert first.status_code == 200
    again = machine.http.post("/token", data={"grant_type": "client_credentials"},
                              headers={**machine.basic_auth(), "DPoP": proof})
    assert again.status_code == 400 and again.get_json() == {
        "error": "invalid_dpop_proof",
        "error_description": "The DPoP proof was used already: make a new proof for each request."}



def test_the_proof_names_the_issuers_url_whatever_host_the_proxy_used(machine, key):
    proof = key.proof("POST", "http://localhost/token")
    response = machine.http.post("/token", base_url="https://10.0.0.7:8443", data={"grant_type": "client_credentials"},
                                 headers={**machine.basic_auth(), "DPoP": proof})
    assert response.status_code == 200 and response.get_json()["token_type"] == "DPoP"


def test_the_used_proofs_are_pruned_once_too_old(runner, machine, key):
    assert machine.token_request(grant_type="client_credentials", dpop=key).status_code == 200
    assert json.loads(runner.invoke(args=["prune", "--json"]).output)["used_dpop_proofs"] == 0
    clock.advance(2 * 24 * 3600)
    assert json.loads(runner.invoke(args=["prune", "--json"]).output)["used_dpop_proofs"] == 1
    assert db.session.execute(db.text("SELECT count(*) FROM used_dpop_proofs")).scalar() == 0


def test_discovery_lists_the_proof_algorithms(rp):
    meta = rp.http.get("/.well-known/openid-configuration").get_json()
    assert meta["dpop_signing_alg_values_supported"] == ["ES256", "ES384", "EdDSA", "Ed25519"]
    assert "none" not in meta["dpop_signing_alg_values_supported"]


def test_a_browser_app_may_send_its_proof(public_rp):
    response = public_rp.http.options("/token", headers={"Origin": "https://spa.example",
                                                         "Access-Control-Request-Method": "POST",
                                                         "Access-Control-Request-Headers": "content-type, dpop"})
    allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert "dpop" in allowed


def test_a_proof_sent_with_a_pushed_request_binds_the_code_to_its_key(browser, public_rp, user, key):
    code = authorize(browser, public_rp, user, pushed=True, dpop=key)["code"]

    another = public_rp.redeem(code, dpop=DPoPKey())
    assert another.status_code == 400 and another.get_json()["error"] == "invalid_grant"
    redeemed = public_rp.redeem(code, dpop=key)
    assert redeemed.status_code == 200 and redeemed.get_json()["token_type"] == "DPoP"


def test_a_pushed_request_whose_dpop_jkt_names_another_key_than_its_proof_is_refused(public_rp, key):
    refused = public_rp.push(dpop=key, dpop_jkt=DPoPKey().jkt)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_dpop_proof"
    assert public_rp.push(dpop=key, dpop_jkt=key.jkt).status_code == 201


def test_a_pushed_request_takes_a_proof_for_par_only(rp, key):
    made_for_token = key.proof("POST", f"{rp.issuer}/token")
    refused = rp.http.post("/par", data=dict(parse_qsl(urlsplit(rp.authorize_url()).query)),
                           headers={**rp.basic_auth(), "DPoP": made_for_token})
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_dpop_proof"
