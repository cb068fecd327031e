"""The organizations scope: org and orgs in ID token and userinfo, org in the access
token and introspection; revoking the right ends the grant."""
import pytest
from joserfc import jwt

from idp.extensions import db
from idp.models.organisation import SUSPENDED
from idp.services import organisations
from tests.support.journeys import sign_in
from tests.support.orgs import organisation, person
from tests.support.rp import RelyingParty

SCOPE = "openid email organizations"


@pytest.fixture
def setup(app):
    rp = RelyingParty.register(app, name="Raportit", first_party=True)
    rp.client.org_mode = "business"
    worker, boss = person("ville@siivous.fi"), person("pirjo@siivous.fi")
    alfa = organisation("Alfa Oy", "0737546-2", boss, [worker], rights=[(worker, rp.client)])
    beta = organisation("Beta Oy", "1572860-0", boss, [worker], rights=[(worker, rp.client)])
    db.session.commit()
    return rp, worker, alfa, beta


def _code(browser, rp, worker, org, scope=SCOPE):
    browser.get(rp.authorize_url(scope=scope, org_id=str(org.id)))
    if not browser.url.startswith("https://rp.example/"):
        sign_in(browser, worker.email, worker.test_password)
    return rp.callback_params(browser.url)["code"]


def _tokens(browser, rp, worker, org, scope=SCOPE):
    return rp.redeem(_code(browser, rp, worker, org, scope)).get_json()


def _expected(org, role="member"):
    return {"id": str(org.id), "name": org.name, "business_id": org.business_id, "roles": [role]}


def test_id_token_and_userinfo_name_the_organisation_and_all_with_rights(browser, setup):
    rp, worker, alfa, beta = setup
    body = _tokens(browser, rp, worker, beta)
    claims = rp.verify_id_token(body["id_token"])
    assert claims["org"] == _expected(beta)
    assert claims["orgs"] == [_expected(alfa), _expected(beta)]
    info = rp.userinfo(body["access_token"]).get_json()
    assert info["org"] == claims["org"] and info["orgs"] == claims["orgs"]


def test_access_token_and_introspection_carry_the_organisation(browser, setup):
    rp, worker, alfa, beta = setup
    body = _tokens(browser, rp, worker, alfa)
    access = jwt.decode(body["access_token"], rp.jwks(), algorithms=["ES256"]).claims
    assert access["org"] == _expected(alfa) and access["client_id"] == rp.client_id and "organizations" in access["scope"]
    assert rp.introspect(body["access_token"]).get_json()["org"] == _expected(alfa)


def test_without_the_scope_there_are_no_organisation_claims(browser, setup):
    rp, worker, alfa, _ = setup
    body = _tokens(browser, rp, worker, alfa, scope="openid email")
    assert "org" not in rp.verify_id_token(body["id_token"]) and "orgs" not in rp.userinfo(body["access_token"]).get_json()


def test_refresh_keeps_the_organisation(browser, setup):
    rp, worker, alfa, _ = setup
    body = rp.refresh(_tokens(browser, rp, worker, alfa)["refresh_token"]).get_json()
    assert jwt.decode(body["access_token"], rp.jwks(), algorithms=["ES256"]).claims["org"]["id"] == str(alfa.id)


def test_revoked_right_makes_the_next_refresh_fail(browser, setup):
    rp, worker, alfa, _ = setup
    body = _tokens(browser, rp, worker, alfa)
    organisations.revoke(alfa, organisations.membership(alfa, worker), rp.client)
    db.session.commit()
    assert rp.refresh(body["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert rp.introspect(body["access_token"]).get_json() == {"active": False}


def test_removed_membership_makes_the_next_refresh_fail(browser, setup):
    rp, worker, alfa, beta = setup
    body = _tokens(browser, rp, worker, alfa)
    other = _tokens(browser, rp, worker, beta)
    organisations.remove_member(alfa, organisations.membership(alfa, worker))
    db.session.commit()
    assert rp.refresh(body["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert rp.refresh(other["refresh_token"]).status_code == 200  # acting for Beta is unaffected


def test_an_admin_made_a_member_gets_no_more_tokens_saying_admin(browser, setup):
    rp, worker, alfa, beta = setup
    for org in (alfa, beta):
        organisations.set_role(org, organisations.membership(org, worker), "admin")
    db.session.commit()
    as_admin, elsewhere = _tokens(browser, rp, worker, alfa), _tokens(browser, rp, worker, beta)
    assert rp.introspect(as_admin["access_token"]).get_json()["org"]["roles"] == ["admin"]
    organisations.set_role(alfa, organisations.membership(alfa, worker), "member")
    db.session.commit()
    assert rp.refresh(as_admin["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert rp.introspect(as_admin["access_token"]).get_json() == {"active": False}
    assert rp.refresh(elsewhere["refresh_token"]).status_code == 200  # still an admin of Beta
    assert rp.introspect(_tokens(browser, rp, worker, alfa)["access_token"]).get_json()["org"] == _expected(alfa)


@pytest.mark.parametrize("take_away", ["remove_member", "revoke"])
def test_a_code_issued_before_the_right_ended_gives_no_tokens(browser, setup, take_away):
    rp, worker, alfa, beta = setup
    code, verifier = _code(browser, rp, worker, alfa), rp.verifier
    other = _code(browser, rp, worker, beta)
    member = organisations.membership(alfa, worker)
    if take_away == "remove_member":
        organisations.remove_member(alfa, member)
    else:
        organisations.revoke(alfa, member, rp.client)
    db.session.commit()
    response = rp.redeem(code, verifier=verifier)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
    assert rp.redeem(other).status_code == 200  # acting for Beta is unaffected


def test_a_suspended_organisation_makes_the_next_refresh_fail(browser, setup):
    # Nothing revokes the tokens when an organisation is suspended: the refresh itself checks the right.
    rp, worker, alfa, _ = setup
    body = _tokens(browser, rp, worker, alfa)
    alfa.status = SUSPENDED
    db.session.commit()
    response = rp.refresh(body["refresh_token"])
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_grant"
