"""client_credentials, client authentication, introspection and revocation."""
import base64

import pytest

from tests.support.journeys import tokens_for
from tests.support.rp import RelyingParty


@pytest.fixture
def machine(app):
    return RelyingParty.register(app, name="Integraatio", grant_types=["client_credentials"])


def test_client_credentials_gives_a_token_for_the_client_itself(machine):
    response = machine.token_request(grant_type="client_credentials")
    assert response.status_code == 200
    body = response.get_json()
    assert "refresh_token" not in body and body["token_type"] == "Bearer"
    info = machine.introspect(body["access_token"]).get_json()
    assert info["active"] is True and info["sub"] == machine.client_id and info["client_id"] == machine.client_id


def test_client_credentials_cannot_ask_for_user_scopes(machine):
    response = machine.token_request(grant_type="client_credentials", scope="openid")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_scope"


def test_client_credentials_token_does_not_open_userinfo(machine):
    token = machine.token_request(grant_type="client_credentials").get_json()["access_token"]
    assert machine.userinfo(token).status_code == 401


def test_grant_not_allowed_for_client_is_unauthorized_client(rp):
    response = rp.token_request(grant_type="client_credentials")
    assert response.status_code == 400 and response.get_json()["error"] == "unauthorized_client"


def test_wrong_secret_is_invalid_client_401(machine):
    auth = base64.b64encode(f"{machine.client_id}:wrong".encode()).decode()
    response = machine.http.post("/token", data={"grant_type": "client_credentials"},
                                 headers={"Authorization": f"Basic {auth}"})
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


def test_confidential_client_cannot_skip_authentication(machine):
    response = machine.http.post("/token", data={"grant_type": "client_credentials", "client_id": machine.client_id})
    assert response.status_code in (400, 401) and response.get_json()["error"] == "invalid_client"


def test_unknown_grant_type_is_unsupported_grant_type(machine):
    response = machine.token_request(grant_type="password", username="a", password="b")
    assert response.status_code == 400 and response.get_json()["error"] == "unsupported_grant_type"


@pytest.mark.parametrize("grant_type", [None, ""], ids=["left out", "empty"])
def test_a_missing_grant_type_is_invalid_request(machine, grant_type):
    # RFC 6749 §5.2: missing is invalid_request; unsupported_grant_type is for a value.
    response = machine.token_request(**({} if grant_type is None else {"grant_type": grant_type}))
    assert response.status_code == 400 and response.get_json() == {
        "error": "invalid_request", "error_description": "Missing 'grant_type' parameter."}


def test_parameters_sent_as_json_are_invalid_request(machine):
    # RFC 6749 §3.2: the token endpoint takes application/x-www-form-urlencoded only.
    response = machine.http.post("/token", json={"grant_type": "client_credentials"}, headers=machine.basic_auth())
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"
    assert "application/x-www-form-urlencoded" in response.get_json()["error_description"]


def test_missing_grant_type_and_junk_bodies_are_json_errors_not_crashes(machine):
    junk = machine.http.post("/token", data=b"\xff\xfe{not json", content_type="application/json")
    assert junk.status_code == 400 and junk.get_json()["error"]
    huge = machine.http.post("/token", data={"grant_type": "client_credentials", "x": "a" * 200_000})
    assert huge.status_code == 413 and huge.get_json()["error"] == "invalid_request"
    assert machine.http.get("/token").status_code == 405


def test_revoked_refresh_token_ends_the_grant(browser, rp, user):
    tokens = tokens_for(browser, rp, user)
    assert rp.revoke(tokens["refresh_token"], token_type_hint="refresh_token").status_code == 200
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert rp.introspect(tokens["access_token"]).get_json() == {"active": False}


def test_revoked_access_token_stops_working_at_userinfo(browser, rp, user):
    tokens = tokens_for(browser, rp, user)
    rp.revoke(tokens["access_token"])
    assert rp.userinfo(tokens["access_token"]).status_code == 401


def test_revoking_an_unknown_token_is_still_200(rp):
    assert rp.revoke("never-issued").status_code == 200


def test_introspection_of_user_token(browser, rp, user):
    tokens = tokens_for(browser, rp, user)
    info = rp.introspect(tokens["access_token"]).get_json()
    assert info["active"] and info["sub"] == user.sub and info["scope"] == "openid profile email"
    assert info["iss"] == "http://localhost" and info["exp"] > info["iat"]
    refresh = rp.introspect(tokens["refresh_token"], token_type_hint="refresh_token").get_json()
    assert refresh["active"] and refresh["token_type"] == "refresh_token"


def test_introspection_names_the_person_by_email_only_with_the_email_scope(browser, rp, user):
    with_email = tokens_for(browser, rp, user)
    assert rp.introspect(with_email["access_token"]).get_json()["username"] == user.email
    without = tokens_for(browser, rp, user, scope="openid profile")
    info = rp.introspect(without["access_token"]).get_json()
    assert info["active"] and info["sub"] == user.sub and "username" not in info
    assert user.email not in rp.introspect(without["refresh_token"]).get_data(as_text=True)


def test_an_unknown_token_type_hint_is_ignored(browser, rp, user):
    tokens = tokens_for(browser, rp, user)
    assert rp.introspect(tokens["refresh_token"], token_type_hint="foo").get_json()["active"]
    assert rp.revoke(tokens["refresh_token"], token_type_hint="foo").status_code == 200
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert rp.introspect(tokens["access_token"], token_type_hint="foo").get_json() == {"active": False}


def test_introspection_hides_other_clients_tokens(app, browser, rp, user):
    tokens = tokens_for(browser, rp, user)
    other = RelyingParty.register(app, name="Toinen")
    assert other.introspect(tokens["access_token"]).get_json() == {"active": False}


def test_introspection_requires_client_authentication(browser, rp, user):
    tokens = tokens_for(browser, rp, user)
    response = rp.http.post("/introspect", data={"token": tokens["access_token"]})
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize("path", ["/token", "/introspect", "/revoke"])
def test_two_authentication_methods_at_once_are_refused(machine, path):
    """RFC 6749 §2.3: the header and the body both naming a secret is one method too many."""
    data = {"grant_type": "client_credentials"} if path == "/token" else {"token": "anything"}
    response = machine.http.post(path, data={**data, "client_id": machine.client_id, "client_secret": machine.secret},
                                 headers={"Authorization": "Basic " + base64.b64encode(
                                     f"{machine.client_id}:{machine.secret}".encode()).decode()})
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"
